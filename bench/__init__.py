"""Benchmarks of the billing engine (`make bench`); see docs/benchmarks.md."""
