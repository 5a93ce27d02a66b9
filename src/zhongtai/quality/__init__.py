"""Data quality: cleaning transforms, field and dataset checks, quarantine and reports, run inside ingest."""
