"""iotwarden: find, classify and watch the devices on a network from its traffic."""

__version__ = "0.1.0"
