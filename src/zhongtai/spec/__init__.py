"""Declarative specs: YAML files in a project folder, validated by pydantic with file and line in every error."""
