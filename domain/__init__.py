"""The pure domain core of orderhub: orders, reservations, returns, their rules and events."""
