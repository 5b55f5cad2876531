"""Zeek log file formats: the ASCII/TSV writer (``#separator`` header) and JSON lines, plain or gzip'd.

Owns opening, sniffing and line decoding only: each record comes out as a flat ``{column: value}``
dict with Zeek's own column names and typed values; :mod:`iotwarden.sources.zeek` maps them.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from iotwarden.errors import CaptureError, ParseError

# Longest log line read; a longer line is counted as malformed and skipped without buffering it.
MAX_LINE_BYTES = 1 << 20
# Bytes read at once from an uncompressed log, split into lines in one call (a line per readline
# cost an IoT-23 conn.log of 1M lines ~0.5 s of 4.6).
READ_BLOCK = 1 << 16
# How many lines at the start of a file are read to sniff its format and log type.
SNIFF_LINES = 16

GZIP_MAGIC = b"\x1f\x8b"  # RFC 1952 §2.3.1 ID1 ID2
MAX_COUNT = 2**64 - 1  # Zeek's ``count`` is an unsigned 64-bit integer (script reference, "Types")

# The log types this reader maps to records; a file or JSON record of any other type is read and
# counted but produces nothing.
KNOWN_TYPES = frozenset({
    "conn", "dns", "dhcp", "http", "ssl", "x509", "ssh", "software",
    "known_hosts", "known_services", "known_devices", "modbus", "dnp3", "cip", "cip_identity",
    "snmp", "ftp", "sip", "ntlm", "s7comm", "bacnet", "bacnet_discovery", "rdp", "dce_rpc",
    "quic", "ntp", "mqtt_connect", "mqtt_publish", "mqtt_subscribe", "kerberos", "smb_mapping", "smb_files",
    "ldap", "ldap_search",
})

# Columns that only one log type has: how a JSON log without ``_path`` is recognised by its keys.
_SIGNATURE_KEYS: tuple[tuple[str, str], ...] = (
    ("conn_state", "conn"),
    ("qtype_name", "dns"),
    ("msg_types", "dhcp"),
    ("assigned_ip", "dhcp"),  # the Zeek < 3 dhcp.log
    ("request_from", "sip"),  # before http's keys: sip.log has status_code and user_agent too
    ("status_code", "http"),
    ("user_agent", "http"),
    ("cert_chain_fps", "ssl"),
    ("cert_chain_fuids", "ssl"),
    ("certificate.subject", "x509"),
    ("auth_attempts", "ssh"),
    ("software_type", "software"),
    ("port_proto", "known_services"),
    ("dhcp_host_name", "known_devices"),
    ("fc_request", "dnp3"),
    ("func", "modbus"),
    ("cip_service_code", "cip"),
    ("encapsulation_version", "cip_identity"),
    ("get_bulk_requests", "snmp"),
    ("reply_msg", "ftp"),
    ("server_nb_computer_name", "ntlm"),
    ("rosctr_code", "s7comm"),
    ("bvlc_function", "bacnet"),
    ("security_protocol", "rdp"),  # RDP::Info; a refused connection's line has its cookie, or its result alone
    ("cookie", "rdp"),
    ("endpoint", "dce_rpc"),  # DCE_RPC::Info: the interface, set on every line
    ("client_initial_dcid", "quic"),  # QUIC::Info
    ("root_disp", "ntp"),  # NTP::Info
    ("request_type", "kerberos"),  # KRB::Info; a line with only an error has its error_msg
    ("error_msg", "kerberos"),
    ("share_type", "smb_mapping"),  # SMB::TreeInfo: &default, set on every line
    ("prev_name", "smb_files"),  # SMB::FileInfo: a rename's, or its MAC times'
    ("times.modified", "smb_files"),
    ("connect_status", "mqtt_connect"),  # MQTT::ConnectInfo, PublishInfo, SubscribeInfo
    ("proto_name", "mqtt_connect"),
    ("from_client", "mqtt_publish"),
    ("qos_levels", "mqtt_subscribe"),
    ("granted_qos_level", "mqtt_subscribe"),
    ("base_object", "ldap_search"),  # LDAP::SearchInfo; a line always has its scope, its filter unless empty
    ("deref_aliases", "ldap_search"),
    ("opcode", "ldap"),  # LDAP::MessageInfo: set on every line that is logged
)

_HEX_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")
_SPACES = re.compile(rb" +")


@dataclass(slots=True)
class TsvHeader:
    """The directives of one TSV header block (Zeek ``LogAscii`` writer)."""

    separator: bytes = b"\t"
    set_separator: bytes = b","
    empty_field: bytes = b"(empty)"
    unset_field: bytes = b"-"
    path: str | None = None
    fields: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    # Columns per separator-delimited part of ``#fields`` when some part holds several names split by
    # spaces (Stratosphere IoT-23 ``conn.log.labeled``: ``tunnel_parents   label   detailed-label``);
    # None when every part is one name (what Zeek itself writes).
    groups: list[int] | None = None
    converters: list[Callable[[bytes], Any]] | None = None  # per column, built on first use


def open_log(path: Path) -> IO[bytes]:
    """The file opened for binary reading, transparently gunzipped (by magic, not by name)."""
    try:
        fh: IO[bytes] = path.open("rb")
        magic = fh.read(2)
        fh.seek(0)
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read Zeek log: {exc.strerror or exc}") from exc
    if magic == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    return fh


def iter_lines(fh: IO[bytes], on_bad: Callable[[], None], *, whole_lines: bool = False) -> Iterator[bytes]:
    """Lines without their end of line; over-long lines and a damaged gzip tail call ``on_bad``.
    ``whole_lines``: a last line with no end of line is left out (its writer is still at work)."""
    if isinstance(fh, io.BufferedReader):  # an uncompressed file: the same lines, a block at a time
        yield from _block_lines(fh, on_bad, whole_lines=whole_lines)
        return
    while True:
        try:
            line = fh.readline(MAX_LINE_BYTES + 1)
        except EOFError:  # the stream ends before gzip's trailer: a log Zeek writes gzip'd (LogAscii::gzip_level)
            if not whole_lines:  # that is still being written is read so; once it is done, a truncated file
                on_bad()
            return
        except (OSError, zlib.error):  # corrupt gzip: count once, stop
            on_bad()
            return
        if not line or (whole_lines and not line.endswith(b"\n") and len(line) <= MAX_LINE_BYTES):
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            on_bad()
            try:  # skip the rest of the over-long line without keeping it
                while (rest := fh.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
            except (EOFError, OSError, zlib.error):
                return
            continue
        yield line.rstrip(b"\r\n")


def _block_lines(fh: IO[bytes], on_bad: Callable[[], None], *, whole_lines: bool) -> Iterator[bytes]:
    """:func:`iter_lines` of an uncompressed file, read :data:`READ_BLOCK` bytes at a time: a line
    longer than :data:`MAX_LINE_BYTES` (end of line not counted) calls ``on_bad`` once and is dropped
    without being kept whole, as the readline path does."""
    carry = b""  # the start of a line that ends in a later block
    skipping = False  # within an over-long line, dropped up to its end of line
    while True:
        try:
            block = fh.read(READ_BLOCK)
        except OSError:
            on_bad()
            return
        if not block:
            break
        lines = block.split(b"\n")
        lines[0] = carry + lines[0]
        carry = lines.pop()  # after the last end of line in the block
        for line in lines:
            if skipping:  # the end of the over-long line
                skipping = False
            elif len(line) > MAX_LINE_BYTES:
                on_bad()
            else:
                yield line.rstrip(b"\r\n")
        if skipping:
            carry = b""
        elif len(carry) > MAX_LINE_BYTES:
            on_bad()
            skipping, carry = True, b""
    if carry and not skipping and not whole_lines:
        yield carry.rstrip(b"\r\n")


def type_from_name(path: Path) -> str | None:
    """Log type from a Zeek file name: ``conn.log``, ``dns.12:00:00-13:00:00.log.gz``, ``ssl.json``."""
    stem = path.name.split(".", 1)[0]
    return stem if stem in KNOWN_TYPES else None


def type_from_keys(record: dict[str, Any]) -> str | None:
    for key, log_type in _SIGNATURE_KEYS:
        if key in record:
            return log_type
    return None


def sniff_lines(path: Path, lines: list[bytes]) -> str | None:
    """The log type of a file whose first lines are ``lines``; None if it is not a Zeek log."""
    first = next((ln for ln in lines if ln.strip()), b"")
    if first.startswith(b"#separator "):
        for ln in lines:
            if ln.startswith(b"#path"):
                value = ln[len(b"#path"):].strip()
                return value.decode("utf-8", "replace") or None
        return type_from_name(path) if any(ln.startswith(b"#fields") for ln in lines) else None
    if first.startswith(b"{"):
        try:
            record = json.loads(first)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply to be a Zeek record
            return None
        if not isinstance(record, dict) or "ts" not in record:
            return None
        path_value = record.get("_path")
        if isinstance(path_value, str) and path_value:
            return path_value
        return type_from_name(path) or type_from_keys(flatten(record))
    return None


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested JSON objects as Zeek's dotted column names (``{"id": {"orig_h": ..}}`` -> ``id.orig_h``)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _unescape(raw: bytes) -> str:
    """Undo the ASCII writer's ``\\xHH`` escapes; bytes that are not UTF-8 stay visible as ``\\xHH``."""
    if b"\\x" in raw:
        raw = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    return raw.decode("utf-8", "backslashreplace")


def finite(raw: bytes | str) -> float:
    """A Zeek ``time``/``interval``/``double`` (ValueError if not a finite number)."""
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def count(raw: bytes | str) -> int:
    """A Zeek ``count``: an unsigned 64-bit integer (Zeek script reference, "Types"); ValueError for a negative
    or wider number, which no Zeek writes (a flow's negative packet or byte count made analyzers fail)."""
    value = int(raw)
    if not 0 <= value <= MAX_COUNT:
        raise ValueError("count out of range")
    return value


def _bool(raw: bytes) -> bool:
    if raw == b"T":
        return True
    if raw == b"F":
        return False
    raise ValueError("bool is neither T nor F")


# TSV text -> value, per Zeek type (Zeek script reference, "Types"); any other type stays text
_SCALARS: dict[str, Callable[[bytes], Any]] = {
    "count": count, "int": int, "port": int, "time": finite, "interval": finite, "double": finite, "bool": _bool,
}
Converter = Callable[[bytes], Any]


def _converter(type_name: str, header: TsvHeader) -> Converter:
    """The function decoding one column of ``type_name`` (sets and vectors split on set_separator)."""
    if type_name.startswith(("set[", "vector[", "table[")):
        inner = _SCALARS.get(type_name[type_name.index("[") + 1: -1], _unescape)
        unset, empty, sep = header.unset_field, header.empty_field, header.set_separator

        def container(raw: bytes) -> list[Any]:
            if raw == empty:
                return []
            return [None if item == unset else inner(item) for item in raw.split(sep)]

        return container
    if type_name == "string":
        empty_text = header.empty_field
        return lambda raw: "" if raw == empty_text else _unescape(raw)
    return _SCALARS.get(type_name, _unescape)


def column_type(header: TsvHeader, index: int) -> str:
    """The Zeek type of column ``index`` (``string`` when ``#types`` does not say)."""
    types = header.types
    return types[index] if index < len(types) else "string"


def column_converters(header: TsvHeader) -> list[Converter]:
    """The decoding function of each column, built once per header (any directive rebuilds them)."""
    converters = header.converters
    if converters is None:
        converters = header.converters = [_converter(column_type(header, i), header) for i in range(len(header.fields))]
    return converters


def may_refuse(type_name: str) -> bool:
    """Whether a column of ``type_name`` can hold text its converter refuses (a malformed line);
    text types (string, enum, addr, ...) never do."""
    if type_name.startswith(("set[", "vector[", "table[")):
        type_name = type_name[type_name.index("[") + 1: -1]
    return type_name in _SCALARS


def group_fits(part: bytes, size: int) -> bool:
    """Whether a part of a data line holds the ``size`` space-separated values its ``#fields`` part names."""
    return len(_SPACES.split(part.strip(b" "), maxsplit=size - 1)) == size


def decode_tsv(line: bytes, header: TsvHeader) -> dict[str, Any]:
    """One TSV data line as ``{column: value}``; unset columns are left out. ParseError if malformed."""
    parts = line.split(header.separator)
    fields = header.fields
    if len(parts) != len(fields):
        groups = header.groups
        if groups is None or len(parts) != len(groups):
            raise ParseError(f"{len(parts)} columns where the header has {len(fields)}")
        parts = _ungroup(parts, groups)
    converters = column_converters(header)
    unset = header.unset_field
    record: dict[str, Any] = {}
    try:
        for name, convert, raw in zip(fields, converters, parts, strict=True):
            if raw != unset:
                record[name] = convert(raw)
    except ValueError as exc:
        raise ParseError(f"bad value in column {name}: {exc}") from exc
    return record


def _ungroup(parts: list[bytes], groups: list[int]) -> list[bytes]:
    """Data columns of a line whose header put several names in one part: each such part split on
    runs of spaces into as many values (the last value keeps any further spaces)."""
    out: list[bytes] = []
    for part, size in zip(parts, groups, strict=True):
        if size == 1:
            out.append(part)
            continue
        values = _SPACES.split(part.strip(b" "), maxsplit=size - 1)
        if len(values) != size:
            raise ParseError(f"{len(values)} space-separated values where the header names {size}")
        out += values
    return out


def _names(value: bytes, separator: bytes) -> tuple[list[str], list[int] | None]:
    """Column names (or types) of a ``#fields``/``#types`` line and, when a part holds several
    space-separated names, the number of names per part (Zeek names and types never hold a space)."""
    parts = [p.split() if b" " in p else [p] for p in value.split(separator)]
    names = [n.decode("utf-8", "replace") for part in parts for n in part]
    return names, ([len(p) for p in parts] if len(names) != len(parts) else None)


def apply_directive(line: bytes, header: TsvHeader) -> TsvHeader:
    """Update (or, on ``#separator``, restart) the header with one ``#`` line; returns the header."""
    if line.startswith(b"#separator "):
        spec = line[len(b"#separator "):].strip()
        separator = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), spec)
        if not separator:
            raise ParseError("empty #separator")
        return TsvHeader(separator=separator)
    key, _, value = line[1:].partition(header.separator)
    header.converters = None  # any directive may change how columns decode
    if key == b"set_separator":
        header.set_separator = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), value) or b","
    elif key == b"empty_field":
        header.empty_field = value
    elif key == b"unset_field":
        header.unset_field = value
    elif key == b"path":
        header.path = value.decode("utf-8", "replace")
    elif key == b"fields":
        header.fields, header.groups = _names(value, header.separator)
    elif key == b"types":
        header.types = _names(value, header.separator)[0]
    return header  # #open, #close and unknown directives carry nothing we map


def decode_json(line: bytes) -> dict[str, Any]:
    """One JSON-lines record, flattened to dotted column names; ParseError if not a JSON object."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise ParseError("JSON line is not an object")
    return flatten(record)


def to_time(value: Any) -> float:
    """A Zeek ``time`` as epoch seconds: a number (the default) or ISO 8601 (``JSON::TS_ISO8601``)."""
    if isinstance(value, bool):
        raise ParseError("time is a boolean")
    if isinstance(value, int | float):
        ts = float(value)
    elif isinstance(value, str):
        try:
            ts = float(value)
        except ValueError:
            try:
                when = datetime.fromisoformat(value)
                ts = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()  # Zeek writes UTC
            except ValueError as exc:
                raise ParseError(f"bad time {value!r}") from exc
    else:
        raise ParseError(f"bad time {value!r}")
    if not math.isfinite(ts):
        raise ParseError(f"bad time {value!r}")
    return ts
