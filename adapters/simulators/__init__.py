"""Simulators of the back-office systems: seeded, fault-injecting, and reporting inbound events."""
