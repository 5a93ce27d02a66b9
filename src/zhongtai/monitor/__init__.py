"""Watching capabilities in production: drift of features and scores against the training reference."""
