"""Zeek logs as a capture source: one log file, or a directory of them, -> RecordBatches.

Reads conn, dns, dhcp, http, ssl, x509, ssh, software, known_*, snmp, ftp, sip, ntlm, rdp, dce_rpc, kerberos,
ldap, ldap_search, smb_mapping, smb_files, quic, ntp, mqtt_connect/publish/subscribe, modbus and dnp3 logs (and
ICSNPP's cip, cip_identity, s7comm, bacnet and bacnet_discovery) in TSV or JSON lines, plain or gzip'd, and
joins across logs what Zeek splits: MACs/VLAN from conn.log (by ``uid``) onto the other logs' Observations,
and x509.log certificates into one ``certificate`` Observation per server chain (ssl.log
``cert_chain_fps``/``cert_chain_fuids``), sent by that TLS server. Both joins need the logs read together (a
directory); an x509 record no ssl.log record names goes out alone, with no addresses (``src_ip`` None).
Zeek writes a record when it is done, stamped with its start: each log is put back in time order within a
window (:mod:`~iotwarden.sources.zeek_order`), and the few conn.log lines later than that (long sessions) are
read ahead in a directory, so their connection's other records, read long before, are stamped too.
"""

from __future__ import annotations

import heapq
import importlib
import io
import itertools
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar

from iotwarden.errors import CaptureError, ConfigError, ParseError
from iotwarden.model import Flow, Observation
from iotwarden.sources import zeek_ics, zeek_map, zeek_order, zeek_tls
from iotwarden.sources.base import RecordBatch
from iotwarden.sources.zeek_conn import ConnLines
from iotwarden.sources.zeek_fields import ConnId
from iotwarden.sources.zeek_format import (
    GZIP_MAGIC,
    KNOWN_TYPES,
    MAX_LINE_BYTES,
    READ_BLOCK,
    SNIFF_LINES,
    TsvHeader,
    apply_directive,
    decode_json,
    decode_tsv,
    iter_lines,
    open_log,
    sniff_lines,
    to_time,
)
from iotwarden.sources.zeek_gzip import GzipState, GzipTail, open_tail

if TYPE_CHECKING:
    from iotwarden.sources.zeek_app import FtpLogins

_Mapper = Callable[[dict[str, Any]], list[Observation]]


@cache
def _loaded(module: str, name: str) -> Any:
    """``name`` of ``iotwarden.sources.<module>``, imported on first use."""
    return getattr(importlib.import_module(f"iotwarden.sources.{module}"), name)


def _lazy(module: str, name: str) -> _Mapper:
    """A mapper whose module, and the dissector tables it reads (SIP, S7comm, BACnet: ~90 ms of imports), loads
    with the first record of its log: a run on conn.logs alone never pays for it."""

    def mapper(rec: dict[str, Any]) -> list[Observation]:
        found: _Mapper = _loaded(module, name)
        return found(rec)

    return mapper

# the logs whose records are Observations alone, one function each (conn, ssl, x509 and known_* join or branch)
OBSERVATION_MAPPERS: dict[str, _Mapper] = {
    "dns": zeek_map.map_dns, "dhcp": zeek_map.map_dhcp, "http": zeek_map.map_http, "ssh": zeek_map.map_ssh,
    "software": zeek_map.map_software, "modbus": zeek_ics.map_modbus, "dnp3": zeek_ics.map_dnp3,
    "cip": zeek_ics.map_cip, "cip_identity": zeek_ics.map_cip_identity, "snmp": _lazy("zeek_app", "map_snmp"),
    "sip": _lazy("zeek_app", "map_sip"), "s7comm": _lazy("zeek_icsnpp", "map_s7comm"),
    "bacnet": _lazy("zeek_icsnpp", "map_bacnet"), "bacnet_discovery": _lazy("zeek_icsnpp", "map_bacnet_discovery"),
    "ntlm": _lazy("zeek_app", "map_ntlm"),
    "rdp": _lazy("zeek_rdp", "map_rdp"),
    "dce_rpc": _lazy("zeek_dcerpc", "map_dce_rpc"),
    "quic": _lazy("zeek_iot", "map_quic"), "ntp": _lazy("zeek_iot", "map_ntp"),
    "mqtt_connect": _lazy("zeek_iot", "map_mqtt_connect"), "mqtt_publish": _lazy("zeek_iot", "map_mqtt_publish"),
    "mqtt_subscribe": _lazy("zeek_iot", "map_mqtt_subscribe"), "kerberos": _lazy("zeek_windows", "map_kerberos"),
    "smb_mapping": _lazy("zeek_windows", "map_smb_mapping"), "smb_files": _lazy("zeek_windows", "map_smb_files"),
    "ldap": _lazy("zeek_ldap", "map_ldap"), "ldap_search": _lazy("zeek_ldap", "map_ldap_search"),
}

# conn.log uids remembered to stamp MACs and VLAN on the other logs' records of the same connection.
MAX_TRACKED_UIDS = 65536
# Links of the conn.log lines that zeek_order cannot put in place (sessions logged at their end, hours after
# their dns/http/ssl records), read ahead from a directory's conn.logs before the merge; past it, the
# least recently read are forgotten.
MAX_LATE_UIDS = 65536
# Certificates and certificate chains remembered for the ssl.log <-> x509.log join (Zeek logs each
# certificate once a day, so later connections with the same certificate are joined from the cache).
MAX_TRACKED_CERTS = 16384
# Merge order among records with the same ts: conn first (it feeds the uid join), x509 last.
_PRIORITY = {"conn": 0, "ssl": 1, "x509": 3}

_K = TypeVar("_K")
_V = TypeVar("_V")

# (ts, priority, log type, record or None if bad); a conn.log line the fast path took is its Flow
_Item = tuple[float, int, str, dict[str, Any] | Flow | None]


class _Lru(Generic[_K, _V]):
    """A dict that forgets its least recently used entry beyond ``limit`` entries."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._data: OrderedDict[_K, _V] = OrderedDict()

    def get(self, key: _K) -> _V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: _K, value: _V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) > self.limit:
            self._data.popitem(last=False)

    def pop(self, key: _K) -> _V | None:
        return self._data.pop(key, None)

    def values(self) -> list[_V]:
        return list(self._data.values())

    def __len__(self) -> int:
        return len(self._data)


@dataclass(slots=True, frozen=True)
class _LinkInfo:
    orig_h: str
    orig_mac: str | None
    resp_mac: str | None
    vlan: int | None


@dataclass(slots=True)
class Resume:
    """Where the next read of a log that grows (a monitor following it) starts: past ``offset`` bytes of whole
    lines (uncompressed), or where ``gzip`` says (a gzip'd log: :mod:`~iotwarden.sources.zeek_gzip`), with the
    TSV ``header`` read before them; kept up to date by :func:`_file_items` each time it reads the file to its end."""

    offset: int = 0
    header: TsvHeader | None = None
    gzip: GzipState = field(default_factory=GzipState)
    skipping: bool = False  # ``offset`` is within a line longer than MAX_LINE_BYTES, counted: dropped to its end


def sniff_zeek(path: Path) -> str | None:
    """The log type (``conn``, ``dns``...) of a Zeek log file, from ``#path``, ``_path``, the file
    name or the JSON keys; None if the file is not a Zeek log (or cannot be read)."""
    try:
        with open_log(path) as fh:
            lines = list(itertools.islice(iter_lines(fh, lambda: None), SNIFF_LINES))
    except (CaptureError, OSError):
        return None
    return sniff_lines(path, lines)


def read_zeek(path: Path, *, batch_size: int = 10000, skip: int = 0,
              whole_lines: bool = False) -> Iterator[RecordBatch]:
    """RecordBatches of Flows and Observations from a Zeek log file or a directory of Zeek logs.

    ``batch_size`` log lines per batch (the last batch may be smaller). For a file that is still
    being written (a monitor following it): ``skip`` data lines already read are passed over, and
    ``whole_lines`` leaves out a last line with no end of line yet. Malformed lines are counted
    in ``RecordBatch.skipped`` and skipped. A directory is read as one capture: its logs merged in
    time order, rotated files of one type one after another, files that are not Zeek logs ignored.
    Raises CaptureError when the path is missing, is not a Zeek log, or holds no log we map.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, not {batch_size}")
    if path.is_dir():
        groups: dict[str, list[Path]] = {}
        for child in sorted(path.iterdir()):
            log_type = sniff_zeek(child) if child.is_file() else None
            if log_type in KNOWN_TYPES:
                groups.setdefault(log_type, []).append(child)
        if not groups:
            raise CaptureError(f"{path}: no Zeek log of a supported type ({', '.join(sorted(KNOWN_TYPES))})")
        streams = [zeek_order.in_time_order(_chained(files, log_type)) for log_type, files in groups.items()]
        items: Iterable[_Item] = heapq.merge(*streams, key=lambda item: (item[0], item[1]))
        conns = groups.get("conn") if len(groups) > 1 else None
        late = partial(_late_links, conns) if conns else _no_late_links
    elif path.is_file():
        log_type = sniff_zeek(path)
        if log_type is None:
            raise CaptureError(f"{path}: not a Zeek log (no '#separator' TSV header, not JSON lines with 'ts')")
        if log_type not in KNOWN_TYPES:
            raise CaptureError(f"{path}: Zeek {log_type}.log carries nothing iotwarden reads "
                               f"(supported: {', '.join(sorted(KNOWN_TYPES))})")
        items = zeek_order.in_time_order(itertools.islice(_file_items(path, log_type, whole_lines), skip, None))
        late = _no_late_links
    else:
        raise CaptureError(f"{path}: no such file or directory")
    return _batches(items, batch_size, late)


def _chained(files: list[Path], log_type: str) -> Iterator[_Item]:
    """The items of rotated files of one log type, one file after the other (names sort by time)."""
    for path in files:
        yield from _file_items(path, log_type)


def _late_links(files: list[Path]) -> _Lru[str, _LinkInfo] | None:
    """By uid, the MACs and VLAN of the conn.log lines that even put in time order come behind later ones
    (long sessions: Zeek logs a connection at its end), read ahead so that their connection's other records,
    merged long before them, are stamped too; None, without reading on, when the conn.logs' first lines name
    no link-layer column (a bare conn.log stamps nothing)."""
    try:
        with open_log(files[0]) as fh:
            head = b"".join(itertools.islice(iter_lines(fh, lambda: None), SNIFF_LINES))
    except (CaptureError, OSError):
        return None
    if b"l2_addr" not in head and b"vlan" not in head:
        return None
    late: _Lru[str, _LinkInfo] = _Lru(MAX_LATE_UIDS)
    high = -math.inf
    for ts, _, _, record in zeek_order.in_time_order(_chained(files, "conn")):  # as the merge will read them
        if ts >= high:
            high = ts
        elif record is not None:  # behind what went before it: the other logs' records of it may have too
            try:
                flow = record if isinstance(record, Flow) else zeek_map.map_conn(record)
            except ParseError:
                continue
            uid, link = _link(flow)
            if uid is not None and link is not None:
                late.put(uid, link)
    return late


def _no_late_links() -> None:
    """No conn.log to read ahead: one log alone, or a directory with no other log to stamp."""


def _link(flow: Flow) -> tuple[str | None, _LinkInfo | None]:
    """A conn.log flow's uid and the link-layer facts it gives the other logs' records (None: none)."""
    uid = flow.extra.get("uid")
    if not isinstance(uid, str) or not (flow.a_mac or flow.b_mac or flow.vlan):  # a bare conn.log has none
        return None, None
    return uid, _LinkInfo(flow.a_ip, flow.a_mac, flow.b_mac, flow.vlan or None)


def _file_items(path: Path, log_type: str, whole_lines: bool = False, resume: Resume | None = None,
                skip: int = 0) -> Iterator[_Item]:
    """Every data line of one file as an item; a malformed line as an item with no record. conn.log
    TSV lines go through the fast path (:mod:`~iotwarden.sources.zeek_conn`) when it takes them.
    ``resume``: the file is read from there, and ``resume`` moved to its end once read (a gzip'd file too).
    ``skip``: the first items are counted, not decoded (directives still read): lines a monitor already fed
    (from another copy of the log: a gz archive of a log followed under its first name)."""
    bad: list[int] = []
    priority = _PRIORITY.get(log_type, 2)
    conn_priority = _PRIORITY["conn"]
    fast: ConnLines | None = None  # compiled for the current header, when it is a conn.log's
    stale = True  # a directive was read since ``fast`` was compiled

    def on_bad() -> None:
        bad.append(1)

    gz: GzipTail | None = None
    opened: IO[bytes]
    if resume is not None and _gzipped(path):
        opened, gz = open_tail(path, resume.gzip)
    else:
        opened = open_log(path)
    with opened as fh:
        header: TsvHeader | None = None
        seekable = resume is not None and isinstance(fh, io.BufferedReader) and gz is None
        if resume is not None and (seekable or gz is not None):
            header = resume.header
        if resume is not None and seekable:
            fh.seek(resume.offset)
            if resume.skipping and not _past_line_end(fh):  # still within the over-long line counted before
                resume.offset = fh.tell()
                return
            resume.offset, resume.skipping = fh.tell(), False
        lines = iter_lines(fh, on_bad, whole_lines=whole_lines)
        for line in lines:
            while bad:  # over-long lines and gzip damage found while reading
                bad.pop()
                if skip:
                    skip -= 1
                    continue
                yield (-math.inf, priority, log_type, None)
            if not line or line.isspace():  # blank (bytes.strip's whitespace), without a stripped copy
                continue
            if skip and line[:1] != b"#":  # a data line (or JSON record): an item, fed before
                skip -= 1
                continue
            if header is not None and header.fields and line[:1] not in b"#{":
                if stale:
                    stale = False
                    fast = ConnLines.compile(header) if (header.path or log_type) == "conn" else None
                flow = fast.flow(line) if fast is not None else None
                if flow is not None:
                    yield (flow.first_seen, conn_priority, "conn", flow)
                    continue
            try:
                if line.startswith(b"#"):
                    stale = True
                    header = apply_directive(line, header or TsvHeader())
                    continue
                if line.startswith(b"{"):
                    record = decode_json(line)
                    line_type = record.pop("_path", None) or log_type
                    record.pop("_write_ts", None)
                elif header is not None and header.fields:
                    record = decode_tsv(line, header)
                    line_type = header.path or log_type
                else:
                    raise ParseError("data line before a #fields header")
                ts = to_time(record.get("ts"))
            except ParseError:
                if skip:  # a bad directive is an item too
                    skip -= 1
                    continue
                yield (-math.inf, priority, log_type, None)
                continue
            yield (ts, _PRIORITY.get(str(line_type), 2), str(line_type), record)
        if gz is not None and (gz.newly_damaged or not (whole_lines or gz.ended)):
            bad.append(1)  # corrupt deflate data, or a file read as finished that stops within a member
        for _ in bad[skip:]:
            yield (-math.inf, priority, log_type, None)
        if resume is not None and seekable:
            (resume.offset, resume.skipping), resume.header = _whole_lines_end(fh, resume.offset, whole_lines), header
        if resume is not None and gz is not None:
            resume.gzip, resume.header = gz.state(), header


def _gzipped(path: Path) -> bool:
    """Whether ``path`` starts with gzip's magic (RFC 1952 §2.3.1), as :func:`open_log` tells."""
    try:
        with path.open("rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError:
        return False


def _whole_lines_end(fh: IO[bytes], start: int, whole_lines: bool) -> tuple[int, bool]:
    """The byte offset past the last end of line of a file read to its end from ``start`` (past everything
    when a last line without one was read too), and whether the read ended within a line longer than
    ``MAX_LINE_BYTES`` (counted bad by :func:`iter_lines`: the next read drops the rest of it, and starts past it)."""
    end = fh.tell()
    if not whole_lines:
        return end, False
    at = max(start, end - MAX_LINE_BYTES - 1)
    fh.seek(at)
    cut = fh.read(end - at).rfind(b"\n")
    if cut >= 0:
        return at + cut + 1, False
    if at > start:  # no end of line in the last MAX_LINE_BYTES + 1 bytes: an over-long line, already counted
        return end, True
    return start, False


def _past_line_end(fh: IO[bytes]) -> bool:
    """Move ``fh`` past its next end of line; False (at its end) when it has none."""
    while block := fh.read(READ_BLOCK):
        cut = block.find(b"\n")
        if cut >= 0:
            fh.seek(cut + 1 - len(block), io.SEEK_CUR)
            return True
    return False


def _batches(items: Iterable[_Item], batch_size: int,
             late: Callable[[], _Lru[str, _LinkInfo] | None]) -> Iterator[RecordBatch]:
    joiner = _Joiner(late())  # read ahead when the first batch is asked for, not when read_zeek is called
    batch = RecordBatch()
    last_ts: float | None = None
    conn, add_flow = joiner.conn, batch.flows.append  # per line: a conn.log's lines are most of a capture
    for ts, _, log_type, record in items:
        batch.records += 1
        if record is None:
            batch.skipped += 1
        elif isinstance(record, Flow):  # a conn.log line the fast path mapped
            add_flow(conn(record))
            if last_ts is None or ts > last_ts:
                last_ts = ts
        else:
            try:
                observations, flows = joiner.map(log_type, record)
            except ParseError:
                batch.skipped += 1
            else:
                batch.observations.extend(observations)
                batch.flows.extend(flows)
                if last_ts is None or ts > last_ts:
                    last_ts = ts
        if batch.records >= batch_size:
            batch.last_ts = last_ts
            yield batch
            batch = RecordBatch()
            add_flow = batch.flows.append
    batch.observations.extend(joiner.flush())
    if batch.records:
        batch.last_ts = last_ts
        yield batch


@dataclass(slots=True)
class _Chain:
    """An ssl.log record's certificate chain, waiting for its x509.log records."""

    server: ConnId
    uid: Any
    keys: list[str]
    found: dict[str, dict[str, Any]]
    rdp: bool = False  # conn.log or rdp.log named the connection RDP: the leaf's CN names the server

    def certs(self) -> list[dict[str, Any]]:
        return [self.found[k] for k in self.keys if k in self.found]


def _certificate(ts: float, chain: _Chain) -> list[Observation]:
    """A joined chain's ``certificate``, and an RDP server's ``server_certificate`` naming it (sources/zeek_rdp.py)."""
    cert = zeek_tls.certificate(ts, chain.certs(), chain.server)
    named = _loaded("zeek_rdp", "server_certificate")(cert, rdp=chain.rdp)
    return [cert] if named is None else [cert, named]


class _Joiner:
    """Maps records and joins them across logs, within the named limits."""

    def __init__(self, late: _Lru[str, _LinkInfo] | None = None) -> None:
        self.links: _Lru[str, _LinkInfo] = _Lru(MAX_TRACKED_UIDS)
        self.late = late  # conn.log lines read ahead: those later than the reorder window
        self.certs: _Lru[str, dict[str, Any]] = _Lru(MAX_TRACKED_CERTS)  # x509 records read, by key
        self.chains: _Lru[int, _Chain] = _Lru(MAX_TRACKED_CERTS)  # chains still missing certificates
        self.waiting: _Lru[str, list[int]] = _Lru(MAX_TRACKED_CERTS)  # certificate key -> chains it completes
        self._ids = itertools.count()
        self.ftp: FtpLogins | None = None  # each FTP session's login once (ftp.log repeats it per command)
        self.rdp_uids: _Lru[str, bool] = _Lru(MAX_TRACKED_UIDS)  # connections conn.log or rdp.log named RDP

    def conn(self, flow: Flow) -> Flow:
        """A conn.log flow: its MACs and VLAN remembered by ``uid`` for the other logs' records."""
        if flow.a_mac or flow.b_mac or flow.vlan:  # the flow's own fields first: a bare conn.log has none
            uid, link = _link(flow)
            if uid is not None and link is not None:
                self.links.put(uid, link)
        if flow.app == "rdp" or (flow.extra.get("services") and "rdp" in flow.extra["services"]):
            self._rdp(flow.extra.get("uid"))
        return flow

    def _rdp(self, uid: Any) -> None:
        if isinstance(uid, str):
            self.rdp_uids.put(uid, True)

    def map(self, log_type: str, rec: dict[str, Any]) -> tuple[list[Observation], list[Flow]]:
        if log_type == "conn":
            return [], [self.conn(zeek_map.map_conn(rec))]
        if log_type == "x509":
            return self._x509(rec), []
        if log_type == "ssl":
            cid, observations, keys = zeek_tls.map_ssl(rec)
            if keys:
                uid = rec.get("uid")
                chain = _Chain(cid, uid, keys, {}, isinstance(uid, str) and self.rdp_uids.get(uid) is not None)
                for key in keys:
                    cached = self.certs.get(key)
                    if cached is not None:  # logged before (Zeek logs a certificate once a day)
                        chain.found[key] = cached
                if len(chain.found) == len(keys):
                    observations += _certificate(cid.ts, chain)
                else:
                    chain_id = next(self._ids)
                    self.chains.put(chain_id, chain)
                    for key in keys:
                        if key not in chain.found:
                            self.waiting.put(key, [*(self.waiting.get(key) or []), chain_id])
        elif log_type in ("known_hosts", "known_services", "known_devices"):
            observations = zeek_map.map_known(log_type, rec)
        elif log_type == "ftp":
            if self.ftp is None:
                self.ftp = _loaded("zeek_app", "FtpLogins")()
            observations = self.ftp.map(rec)
        else:
            if log_type == "rdp":
                self._rdp(rec.get("uid"))
            mapper = OBSERVATION_MAPPERS.get(log_type)
            if mapper is None:
                return [], []  # a log type we do not map, met inside a JSON stream
            observations = mapper(rec)
        if "uid" not in rec and isinstance(uids := rec.get("uids"), list):
            return self._stamp_vlan(observations, uids), []
        return self._stamp(observations, rec.get("uid")), []

    def _x509(self, rec: dict[str, Any]) -> list[Observation]:
        """A certificate completes the chains waiting for it; one nobody waits for goes out alone."""
        ts, key, fields = zeek_tls.map_x509(rec)
        if key is None:
            return [zeek_tls.certificate(ts, [fields], None)]
        self.certs.put(key, fields)
        out: list[Observation] = []
        matched = False
        for chain_id in self.waiting.pop(key) or []:
            chain = self.chains.get(chain_id)
            if chain is None:  # pushed out by newer chains
                continue
            matched = True
            chain.found[key] = fields
            if len(chain.found) == len(chain.keys):
                self.chains.pop(chain_id)
                out += self._stamp(_certificate(ts, chain), chain.uid)
        if not matched:
            out.append(zeek_tls.certificate(ts, [fields], None))
        return out

    def flush(self) -> list[Observation]:
        """At end of input: chains still missing some certificates, with those that were read."""
        out = []
        for chain in self.chains.values():
            if chain.found:
                out += self._stamp(_certificate(chain.server.ts, chain), chain.uid)
        return out

    def _stamp_vlan(self, observations: list[Observation], uids: list[Any]) -> list[Observation]:
        """The VLAN of a record naming several connections (dhcp.log ``uids``: one exchange's, all on its
        client's link) from the first conn.log knows; MACs are the record's own (dhcp.log ``mac``)."""
        for uid in uids:
            link = self.links.get(uid) if isinstance(uid, str) else None
            if link is None and self.late is not None and isinstance(uid, str):
                link = self.late.get(uid)
            if link is not None:
                for obs in observations:
                    obs.vlan = link.vlan
                break
        return observations

    def _stamp(self, observations: list[Observation], uid: Any) -> list[Observation]:
        """MACs and VLAN of connection ``uid`` (from conn.log) on its Observations."""
        link = None
        if isinstance(uid, str):
            link = self.links.get(uid)
            if link is None and self.late is not None:
                link = self.late.get(uid)
        if link is not None:
            for obs in observations:
                from_orig = obs.src_ip == link.orig_h
                obs.src_mac = obs.src_mac or (link.orig_mac if from_orig else link.resp_mac)
                obs.dst_mac = obs.dst_mac or (link.resp_mac if from_orig else link.orig_mac)
                obs.vlan = link.vlan
        return observations
