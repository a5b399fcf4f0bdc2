"""Unit tests of the entrypoints: settings read from the environment."""
