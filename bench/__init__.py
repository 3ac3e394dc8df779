"""Benchmarks: `make bench` runs every module's `run()` and prints each figure beside its target."""
