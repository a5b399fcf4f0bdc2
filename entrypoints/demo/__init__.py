"""`orderhub demo`: a simulated day of retail traffic through the whole hub, in one process."""
