"""Zeek logs as a capture source: one log file, or a directory of them, -> RecordBatches.

Reads conn, dns, dhcp, http, ssl, x509, ssh, software, known_*, snmp, ftp, sip, ntlm, rdp, dce_rpc, kerberos,
ldap, ldap_search, smb_mapping, smb_files, quic, ntp, mqtt_connect/publish/subscribe, modbus and dnp3 logs (and
ICSNPP's cip, cip_identity, s7comm, bacnet and bacnet_discovery) in TSV or JSON lines, plain or gzip'd, and
joins across logs what Zeek splits (:mod:`~iotwarden.sources.zeek_join`): MACs/VLAN from conn.log (by ``uid``)
onto the other logs' Observations, and x509.log certificates into one ``certificate`` Observation per server chain
(ssl.log ``cert_chain_fps``/``cert_chain_fuids``), sent by that TLS server. Both joins need the logs read together (a
directory); an x509 record no ssl.log record names goes out alone, with no addresses (``src_ip`` None).
Zeek writes a record when it is done, stamped with its start: each log is put back in time order within a
window (:mod:`~iotwarden.sources.zeek_order`), and the few conn.log lines later than that (long sessions) are
read ahead in a directory, so their connection's other records, read long before, are stamped too.
"""

from __future__ import annotations

import heapq
import io
import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

from iotwarden.errors import CaptureError, ConfigError, ParseError
from iotwarden.model import Flow
from iotwarden.sources import zeek_connflow, zeek_order
from iotwarden.sources.base import RecordBatch
from iotwarden.sources.zeek_conn import ConnLines
from iotwarden.sources.zeek_format import (
    TsvHeader,
    apply_directive,
    decode_json,
    decode_tsv,
    to_time,
)
from iotwarden.sources.zeek_gzip import GzipState, GzipTail, open_tail
from iotwarden.sources.zeek_join import Joiner, LinkInfo, Lru, link_of
from iotwarden.sources.zeek_lines import (
    GZIP_MAGIC,
    KNOWN_TYPES,
    MAX_LINE_BYTES,
    READ_BLOCK,
    SNIFF_LINES,
    iter_lines,
    open_log,
    sniff_lines,
)

# Links of the conn.log lines that zeek_order cannot put in place (sessions logged at their end, hours after
# their dns/http/ssl records), read ahead from a directory's conn.logs before the merge; past it, the
# least recently read are forgotten.
MAX_LATE_UIDS = 65536
# Merge order among records with the same ts: conn first (it feeds the uid join), x509 last.
_PRIORITY = {"conn": 0, "ssl": 1, "x509": 3}

# (ts, priority, log type, record or None if bad); a conn.log line the fast path took is its Flow
_Item = tuple[float, int, str, dict[str, Any] | Flow | None]


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


def _late_links(files: list[Path]) -> Lru[str, LinkInfo] | None:
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
    late: Lru[str, LinkInfo] = Lru(MAX_LATE_UIDS)
    high = -math.inf
    for ts, _, _, record in zeek_order.in_time_order(_chained(files, "conn")):  # as the merge will read them
        if ts >= high:
            high = ts
        elif record is not None:  # behind what went before it: the other logs' records of it may have too
            try:
                flow = record if isinstance(record, Flow) else zeek_connflow.map_conn(record)
            except ParseError:
                continue
            uid, link = link_of(flow)
            if uid is not None and link is not None:
                late.put(uid, link)
    return late


def _no_late_links() -> None:
    """No conn.log to read ahead: one log alone, or a directory with no other log to stamp."""


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
             late: Callable[[], Lru[str, LinkInfo] | None]) -> Iterator[RecordBatch]:
    joiner = Joiner(late())  # read ahead when the first batch is asked for, not when read_zeek is called
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
