"""Governance every path shares: who is calling (principal, identity, jwt), what they may do (policy), how
often (limits) (docs/governance.md); PII keys, tokens and field encryption (docs/pii.md)."""
