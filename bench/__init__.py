"""Benchmarks of the local stack: figures for the README, not timed tests (`make bench`)."""
