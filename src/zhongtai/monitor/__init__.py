"""Monitoring: Prometheus metrics of decisions and the platform, drift of features and scores."""
