"""The lake: datasets as immutable, versioned Parquet snapshots under ZT_LAKE_URL."""
