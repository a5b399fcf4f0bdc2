"""Process managers: the flows of PRODUCT.md §3, driven by delivered events."""
