"""Source connectors: each reads a dataset from an existing system into Arrow record batches."""

from zhongtai.connect.base import Connector, open_connector

__all__ = ["Connector", "open_connector"]
