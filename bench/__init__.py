"""Benchmark harness for logstat: a log generator, peers, and the timing run."""
