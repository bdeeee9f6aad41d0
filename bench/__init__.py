"""Benchmarks: `make bench` writes their figures to bench/RESULTS.md."""
