"""The Litestar HTTP API (PRODUCT.md §5)."""
