"""Zhongtai: an AI capability platform that runs beside the IT an enterprise already has."""

__version__ = "0.1.0"
