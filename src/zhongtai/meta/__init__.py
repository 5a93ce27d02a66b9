"""The metadata store: everything registered, as SQLAlchemy tables that never leave this package."""

from zhongtai.meta.store import MetadataStore

__all__ = ["MetadataStore"]
