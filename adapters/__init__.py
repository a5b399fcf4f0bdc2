"""Adapters: the ports implemented on real infrastructure, simulators and in-memory fakes."""
