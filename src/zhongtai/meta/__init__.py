"""The metadata store: everything registered, as SQLAlchemy tables that never leave this package."""
