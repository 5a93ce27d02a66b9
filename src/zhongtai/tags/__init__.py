"""Tags: rule-defined labels on an entity ("high_value", "complained_30d"), with history and online values."""
