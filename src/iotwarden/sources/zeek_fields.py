"""Typed access to Zeek log columns and the connection 4-tuple: the vocabulary of the Zeek mappers.

A value of the wrong type raises ParseError, so the whole log line is counted as malformed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from socket import AF_INET, inet_pton
from typing import Any

from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.sources.zeek_format import MAX_COUNT, to_time

# IANA protocol numbers of Zeek's ``transport_proto`` enum (Zeek script reference, "Types").
IP_PROTOS = {"tcp": 6, "udp": 17, "icmp": 1}


# --- typed column access: a value of the wrong type makes the whole line malformed -------------

def get_str(rec: dict[str, Any], key: str) -> str | None:
    value = rec.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, list | dict):
        raise ParseError(f"{key}: expected a string")
    return str(value)


def get_int(rec: dict[str, Any], key: str) -> int | None:
    value = rec.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ParseError(f"{key}: expected a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value)) if "." in value else int(value)
        except (ValueError, OverflowError) as exc:
            raise ParseError(f"{key}: expected a number") from exc
    raise ParseError(f"{key}: expected a number")


def get_count(rec: dict[str, Any], key: str) -> int | None:
    """A Zeek ``count`` column: a number from 0 to 2**64 - 1 (a negative packet or byte count is malformed)."""
    value = get_int(rec, key)
    if value is not None and not 0 <= value <= MAX_COUNT:
        raise ParseError(f"{key}: expected a count (0 to 2**64 - 1)")
    return value


def get_float(rec: dict[str, Any], key: str) -> float | None:
    value = rec.get(key)
    if value is None or value == "":
        return None
    return to_time(value)


def get_list(rec: dict[str, Any], key: str) -> list[Any]:
    """A Zeek set/vector: a list in TSV (typed header) and JSON, a comma-joined string otherwise."""
    value = rec.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [v for v in value if v is not None]
    if isinstance(value, str):
        return value.split(",")
    return [value]


def get_bool(rec: dict[str, Any], key: str) -> bool | None:
    value = rec.get(key)
    if value is None or isinstance(value, bool):
        return value
    if value in ("T", "true"):
        return True
    if value in ("F", "false"):
        return False
    raise ParseError(f"{key}: expected a bool")


def norm_ip(text: str) -> str:
    """An address in canonical text form (dotted quads as they are); ValueError if not an address."""
    if text.count(".") == 3:  # what ipv4_int takes, without making the number: a scan's target per line
        try:
            inet_pton(AF_INET, text)
        except OSError:
            pass
        else:
            return text  # a dotted quad is already in canonical form
    return _norm_other(text)


@lru_cache(maxsize=65536)
def _norm_other(text: str) -> str:
    """:func:`norm_ip` of what is not a dotted quad, remembered: ``ipaddress`` is slow, and a dotted
    quad is told apart faster than a cache is searched (a scan's targets would each miss it)."""
    return str(ipaddress.ip_address(text.split("%", 1)[0]))


def get_ip(rec: dict[str, Any], key: str) -> str | None:
    value = get_str(rec, key)
    if value is None:
        return None
    try:
        return norm_ip(value)
    except ValueError as exc:
        raise ParseError(f"{key}: not an IP address: {value!r}") from exc


def get_port(rec: dict[str, Any], key: str) -> int | None:
    port = get_int(rec, key)
    if port is not None and not 0 <= port <= 0xFFFF:
        raise ParseError(f"{key}: port out of range")
    return port


def iso_utc(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError) as exc:
        raise ParseError(f"time out of range: {ts}") from exc


def drop_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None and v != []}


# --- the connection 4-tuple every connection-based log starts with ------------------------------

@dataclass(slots=True, frozen=True)
class ConnId:
    """``ts`` and ``id`` (Zeek ``conn_id``) of a record, with the transport protocol when known."""

    ts: float
    orig_h: str | None
    orig_p: int | None
    resp_h: str | None
    resp_p: int | None
    ip_proto: int | None

    @classmethod
    def of(cls, rec: dict[str, Any], ip_proto: int | None = None) -> ConnId:
        ts = get_float(rec, "ts")
        if ts is None:
            raise ParseError("record without ts")
        proto = get_str(rec, "proto")
        if proto is not None:
            ip_proto = IP_PROTOS.get(proto, ip_proto)
        return cls(ts, get_ip(rec, "id.orig_h"), get_port(rec, "id.orig_p"), get_ip(rec, "id.resp_h"),
                   get_port(rec, "id.resp_p"), ip_proto)

    @classmethod
    def addressed(cls, rec: dict[str, Any], ip_proto: int | None = None) -> ConnId:
        """:meth:`of`, for a log whose records must name both ends: ParseError when an address is missing."""
        cid = cls.of(rec, ip_proto)
        if cid.orig_h is None or cid.resp_h is None:
            raise ParseError("record without addresses")
        return cid

    def forward(self, proto: str, kind: str, fields: dict[str, Any], ts: float | None = None) -> Observation:
        """An Observation sent by the originator (subject ``src``)."""
        return Observation(ts=self.ts if ts is None else ts, proto=proto, kind=kind, src_ip=self.orig_h,
                           dst_ip=self.resp_h, src_port=self.orig_p, dst_port=self.resp_p,
                           ip_proto=self.ip_proto, fields=drop_none(fields))

    def reverse(self, proto: str, kind: str, fields: dict[str, Any], ts: float | None = None) -> Observation:
        """An Observation sent by the responder (subject ``src``: the responder describes itself)."""
        return Observation(ts=self.ts if ts is None else ts, proto=proto, kind=kind, src_ip=self.resp_h,
                           dst_ip=self.orig_h, src_port=self.resp_p, dst_port=self.orig_p,
                           ip_proto=self.ip_proto, fields=drop_none(fields))
