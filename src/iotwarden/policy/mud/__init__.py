"""MUD (RFC 8520): typed profiles, validation, generation from traffic, checks, fetching and the
violation detector."""
