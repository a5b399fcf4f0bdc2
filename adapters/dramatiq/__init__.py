"""Dramatiq at the edge: the broker for BROKER_URL, the publisher the relay sends through, and one actor per consumer."""
