"""Capabilities: named business decision APIs over models, with rules, fallback and explanations."""
