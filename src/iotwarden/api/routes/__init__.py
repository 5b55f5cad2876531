"""One router per resource of the REST API, all mounted under /api/v1 by :func:`iotwarden.api.create_app`."""
