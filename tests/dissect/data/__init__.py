"""Real captures made on loopback by make_captures.py, and the helper that reads them two ways."""
