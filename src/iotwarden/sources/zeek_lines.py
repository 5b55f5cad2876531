"""Zeek log files as lines: a log opened plain or gzip'd (by magic), its lines read a block at a time with over-long
ones and a damaged gzip tail counted, and which log a file or JSON record is (its name, ``#path``, ``_path`` or the
columns only one log type has); nested JSON objects as Zeek's dotted column names.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from iotwarden.errors import CaptureError

# Longest log line read; a longer line is counted as malformed and skipped without buffering it.
MAX_LINE_BYTES = 1 << 20
# Bytes read at once from an uncompressed log, split into lines in one call (a line per readline
# cost an IoT-23 conn.log of 1M lines ~0.5 s of 4.6).
READ_BLOCK = 1 << 16
# How many lines at the start of a file are read to sniff its format and log type.
SNIFF_LINES = 16

GZIP_MAGIC = b"\x1f\x8b"  # RFC 1952 §2.3.1 ID1 ID2

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
