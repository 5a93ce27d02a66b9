"""Reference scenarios: the systems of a realistic enterprise, generated, to try the platform end to end."""
