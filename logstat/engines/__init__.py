"""Where partial summaries are computed: here (threads, in logstat/library.py) or on a
Dask cluster (dask.py).  Every engine merges the same PartialSummary, so the answers
are the same wherever the work ran."""
