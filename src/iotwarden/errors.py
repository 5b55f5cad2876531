"""The few exception types of iotwarden, grouped by origin.

Each is caught once at an interface (CLI, API) and turned into one clear line for the user.
Parsers raise :class:`ParseError` for malformed input; callers count it and go on.
"""

from __future__ import annotations


class IotwardenError(Exception):
    """Base of every error iotwarden raises on purpose."""


class CaptureError(IotwardenError):
    """A capture source cannot be read: missing, empty, not a capture, truncated, unsupported.

    ``packets_read`` says how many packets were read before the damage (0 if none).
    """

    def __init__(self, message: str, *, packets_read: int = 0) -> None:
        super().__init__(message)
        self.packets_read = packets_read


class ParseError(IotwardenError):
    """A protocol message or log record is malformed; the caller counts it and skips it."""


class ConfigError(IotwardenError):
    """An option or configuration value is invalid (raised at configure time)."""


class StoreError(IotwardenError):
    """The store cannot be opened, migrated or written."""


class PolicyError(IotwardenError):
    """A zone, policy or MUD profile is invalid."""


class FirmwareError(IotwardenError):
    """A firmware image cannot be unpacked, analysed, signed or verified."""


class IdentityError(IotwardenError):
    """A certificate, key or enrolment request is invalid or refused."""
