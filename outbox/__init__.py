"""The transactional outbox: envelope encoding, the relay and the Dramatiq actors that deliver."""
