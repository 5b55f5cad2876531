"""The ``iotwarden`` command: a thin shell over the services (one module per command group)."""
