"""Parameter declarations for lab behaviours and attacks: name, type, default and help, checked once.

Each behaviour or attack declares its parameters next to its code (STYLE 3); the scenario loader
validates a scenario's values against them and names the path of any bad key.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Any

from iotwarden.errors import ConfigError

REQUIRED: Any = object()  # marks a parameter without a default
# the largest number a parameter takes unless it declares its own maximum: a week, the longest scenario
# (scenario.MAX_DURATION), in seconds, and more than any count, rate or size a scenario needs (the largest default is
# 150,000); without a bound 'attempts: 9223372036854775808' generated for ever and 'start: 1.0e+308' reached an
# infinite packet time
MAX_PARAM = 7 * 86400.0
# the longest account name an "account" item may be, in UTF-8 bytes: a UPN's local part (RFC 5321 §4.5.3.1.1;
# an AD sAMAccountName is 20 characters). An RDP attempt carries it in its X.224 request's mstshash cookie, whose
# length is one byte: a 3000-character name was an internal error (ValueError in proto_app.rdp_connection_request)
MAX_ACCOUNT_BYTES = 64
# the longest text a "str" parameter takes unless it declares its own max_bytes, in UTF-8 bytes: texts go into fields
# of one-byte length with a few bytes of their own (Modbus device identification objects, BACnet character strings),
# where a 400-byte vendor name was an internal error (struct.error)
MAX_TEXT_BYTES = 200
MAX_PORT = 65_535  # a TCP or UDP port is 16 bits (RFC 9293 §3.1, RFC 768)
# each matched whole: \Z, not $, which also matches before a final newline (a YAML block scalar's)
_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)\Z")  # RFC 1035 §2.3.4 (underscores as in SRV names)
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]{0,8}))+\Z")  # dotted decimal, each arc within 32 bits' reach
_HEX48 = re.compile(r"^[0-9A-Fa-f]{12}\Z")  # 48 bits in hex: a KNX serial number (03.08.02 §7.5.4.2)


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: ``kind`` is int, float, str, bool, list, dict or "device" (a device id)."""

    kind: str
    default: Any = REQUIRED
    help: str = ""
    minimum: float = 0.0  # numbers below are refused (periods and rates need a positive floor)
    maximum: float = MAX_PARAM  # numbers above are refused
    max_bytes: int = MAX_TEXT_BYTES  # texts longer (in UTF-8) are refused
    # for texts: "dns" (a DNS name, RFC 1035 §2.3.4), "oid" (dotted decimal), "hex48", "line" (sent in a
    # CRLF-ended line, as FTP's commands and replies: no CR or LF, RFC 959 §5.3.2 <char>) or "word" (one word of
    # a request line, which spaces separate: a method or request target, RFC 9112 §3 and §3.2, RFC 2326 §6.1,
    # RFC 3261 §7.1; a SIP URI's user part, §25.1: not empty, no whitespace or control character); "": any
    form: str = ""
    items: str = ""  # for lists: the kind of every item ("str", "int", "device", "ip" or "account")
    # for a device or a list of devices: it names a peer, a device the activity's packets go to or come from, so
    # never the activity's own device (or attacker), whose packets to itself never reach the wire
    # (scenario._refuse_self_peer); False for devices that are only spoken about (hl7's reports)
    peer: bool = True


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list": (list,), "dict": (dict,),
    "device": (str,),
}


def check_params(spec: dict[str, Param], values: dict[str, Any], path: str, device_ids: set[str]) -> dict[str, Any]:
    """``values`` completed with defaults; ConfigError naming ``path.key`` for unknown, missing or bad keys."""
    unknown = sorted(set(values) - set(spec))
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}: unknown parameter (known: {', '.join(sorted(spec))})")
    out: dict[str, Any] = {}
    for name, param in spec.items():
        if name not in values:
            if param.default is REQUIRED:
                raise ConfigError(f"{path}.{name}: required parameter missing ({param.help})")
            out[name] = param.default
            continue
        value: Any = values[name]
        types = _PY_TYPES[param.kind]
        if not isinstance(value, types) or (param.kind in ("int", "float") and isinstance(value, bool)):
            raise ConfigError(f"{path}.{name}: expected {param.kind}, got {type(value).__name__} {value!r}")
        number = float(value) if isinstance(value, int | float) else math.nan
        if param.kind in ("int", "float") and not (math.isfinite(number) and number >= param.minimum):
            raise ConfigError(f"{path}.{name}: must be a finite number >= {param.minimum:g}, got {value!r}")
        if param.kind in ("int", "float") and number > param.maximum:
            raise ConfigError(f"{path}.{name}: must be at most {param.maximum:g}, got {value!r}")
        if param.kind == "device" and value not in device_ids:
            raise ConfigError(f"{path}.{name}: no device with id {value!r}")
        if param.kind == "str" and isinstance(value, str):
            _check_text(param, value, f"{path}.{name}")
        if param.kind == "list" and param.items and isinstance(value, list):
            for i, item in enumerate(value):
                _check_item(param.items, item, f"{path}.{name}[{i}]", device_ids)
        out[name] = value
    return out


def _check_text(param: Param, text: str, path: str) -> None:
    """A text parameter's length and form: the wire fields it goes into hold no other (an internal error before:
    a certificate name past 64 bytes, a DNS label past 63, an OID with letters)."""
    size = len(text.encode())
    if size > param.max_bytes:
        raise ConfigError(f"{path}: at most {param.max_bytes} bytes, got {size}")
    labels = text.rstrip(".").split(".")
    if param.form == "dns" and text and (size > 253 or not all(_DNS_LABEL.match(label) for label in labels)):
        raise ConfigError(f"{path}: not a DNS name (labels of 1 to 63 letters, digits, '-' or '_'): {text!r}")
    if param.form == "oid" and not _OID.match(text):
        raise ConfigError(f"{path}: not an object identifier in dotted decimal: {text!r}")
    if param.form == "hex48" and not _HEX48.match(text):
        raise ConfigError(f"{path}: not 12 hexadecimal digits: {text!r}")
    if param.form in ("line", "word") and ("\r" in text or "\n" in text):  # it would end the line, start another
        raise ConfigError(f"{path}: one line of text, no CR or LF: {text!r}")
    if param.form == "word" and (not text or any(c.isspace() or not c.isprintable() for c in text)):
        # a space would end the word and start the next (the request line's version); percent-encode it
        raise ConfigError(f"{path}: one word, no space or control character (percent-encode them): {text!r}")


def _check_item(kind: str, item: Any, path: str, device_ids: set[str]) -> None:
    if kind == "int":
        if not isinstance(item, int) or isinstance(item, bool) or not 0 <= item <= 65535:
            raise ConfigError(f"{path}: expected a port number, got {item!r}")
        return
    if not isinstance(item, str) or not item:
        raise ConfigError(f"{path}: expected a non-empty string, got {item!r}")
    if kind == "device" and item not in device_ids:
        raise ConfigError(f"{path}: no device with id {item!r}")
    if kind == "account" and len(item.encode()) > MAX_ACCOUNT_BYTES:
        raise ConfigError(f"{path}: an account name of at most {MAX_ACCOUNT_BYTES} bytes, got {len(item.encode())}")
    if kind == "ip":
        try:
            ipaddress.IPv4Address(item)
        except ValueError as exc:
            raise ConfigError(f"{path}: not an IPv4 address: {item!r}") from exc


def guessing_technique(users: list[str]) -> str:
    """The ATT&CK technique of a password-guessing attack over ``users``: several accounts tried in turn is
    spraying (T1110.003), one account is guessing (T1110.001)."""
    return ("T1110.003 Brute Force: Password Spraying" if len(users) > 1
            else "T1110.001 Brute Force: Password Guessing")


def guessing_params(target_help: str, users_help: str, default_user: str) -> dict[str, Param]:
    """The parameters every connection-per-guess brute-force attack of the lab takes."""
    return {"attacker": Param("device"), "target": Param("device", help=target_help),
            "start": Param("float", 120.0), "attempts": Param("int", 20, "passwords guessed", minimum=1),
            "rate": Param("float", 2.0, "connections per second", minimum=0.01),
            "users": Param("list", [default_user], users_help, items="account")}
