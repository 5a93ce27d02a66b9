"""The catalog: what every field is (type, description, owner, PII class), search and lineage."""
