"""The application layer: command handlers, the message bus, process managers."""
