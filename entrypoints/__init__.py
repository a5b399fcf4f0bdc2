"""Entry points: the HTTP app, the CLI, the worker and relay processes, and the container."""
