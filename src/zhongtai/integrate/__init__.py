"""Integration modes beyond REST: batch scoring written back into the source systems (reverse ETL)."""
