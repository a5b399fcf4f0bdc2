"""Benchmarks and measurements; not part of the service (PRODUCT.md §7)."""
