"""Ports: the interfaces the application needs from the world, in domain types."""
