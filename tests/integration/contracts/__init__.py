"""The contracts of the relay's, the delivery bookkeeping's and the read side's ports, each run
against the in-memory fakes, SQLite and PostgreSQL alike (`tests/integration/backends.py`)."""
