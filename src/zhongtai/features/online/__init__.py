"""The online store: latest feature values per entity, read in one round trip on the decision hot path."""

from zhongtai.features.online.base import OnlineStore, entity_key, open_online_store

__all__ = ["OnlineStore", "entity_key", "open_online_store"]
