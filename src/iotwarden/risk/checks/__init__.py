"""The risk checks, one module each; :mod:`iotwarden.risk.registry` lists them."""
