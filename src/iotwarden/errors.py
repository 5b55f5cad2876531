"""The few exception types of iotwarden, grouped by origin.

Each is caught once at an interface (CLI, API) and turned into one clear line for the user
(:func:`one_line`). Parsers raise :class:`ParseError` for malformed input; callers count it and go
on. Code that wraps a low-level failure (OSError, a decoding, YAML, JSON or CSV error) in one of
these says what went wrong with :func:`describe`, never with the exception's raw ``str``.
"""

from __future__ import annotations

import re


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


# a YAML error's source excerpt: the offending line (4-space indent) and a caret line under it
_YAML_EXCERPT = re.compile(r"\n {4}[^\n]*\n {4,}\^")
_YAML_STREAM = re.compile(r'in "<[^>]*>", ')
_YAML_WHERE = re.compile(r"(line \d+, column \d+):$", re.MULTILINE)


def one_line(message: str) -> str:
    """``message`` as one line: YAML source excerpts dropped, the other lines joined with ``; ``."""
    text = _YAML_WHERE.sub(r"(\1)", _YAML_STREAM.sub("", _YAML_EXCERPT.sub("", message)))
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def describe(exc: BaseException) -> str:
    """What went wrong, in one line and the user's words, for a low-level exception that a loader
    wraps in one of ours: ``No such file or directory`` rather than ``[Errno 2] ... 'x.yaml'``, the
    line and column of a YAML or JSON error, the byte a text decoder stumbled on."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, RecursionError):  # json and PyYAML's pure-Python composer recurse once per nesting level
        return "nested too deeply to read (lists or mappings inside hundreds of others)"
    if isinstance(exc, UnicodeDecodeError):
        return (f"not {exc.encoding.upper()} text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}): "
                "binary data or another encoding")
    mark = getattr(exc, "problem_mark", None)  # yaml.MarkedYAMLError, without importing yaml here
    if mark is not None and getattr(exc, "problem", None):
        context = f"{exc.context}: " if getattr(exc, "context", None) else ""  # type: ignore[attr-defined]
        return f"line {mark.line + 1}, column {mark.column + 1}: {context}{exc.problem}"  # type: ignore[attr-defined]
    return one_line(str(exc)) or type(exc).__name__
