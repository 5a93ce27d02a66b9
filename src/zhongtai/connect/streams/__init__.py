"""The event bus: stream sources, pushed features and decision events, one backend per module."""

from zhongtai.connect.streams.base import Delivery, EventBus, open_bus

__all__ = ["Delivery", "EventBus", "open_bus"]
