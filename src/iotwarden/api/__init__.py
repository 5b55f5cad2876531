"""The REST API (FastAPI, OpenAPI 3.1) and the security of the platform itself: users, tokens, sessions, audit."""

from iotwarden.api.app import API_PREFIX, PUBLIC_ROUTES, create_app

__all__ = ["API_PREFIX", "PUBLIC_ROUTES", "create_app"]
