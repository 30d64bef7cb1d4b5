"""The writers: export (CSV, Parquet), the ingest dataset and its commits, rejects,
outputs that must not overwrite inputs, and atomic files used by every floor."""
