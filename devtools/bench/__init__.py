"""Benchmarks: each prints (or writes with --json) the figures docs/benchmarks.md quotes."""
