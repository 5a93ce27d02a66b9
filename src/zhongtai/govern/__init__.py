"""Governance every path shares: PII keys, tokens and field encryption (docs/pii.md)."""
