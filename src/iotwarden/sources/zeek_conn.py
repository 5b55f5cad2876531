"""The conn.log fast path: a TSV data line straight to its Flow, decoding only the columns a Flow needs.

IoT-23 conn.logs run to tens of millions of lines, so the general path (every column decoded into a
dict by :func:`~iotwarden.sources.zeek_format.decode_tsv`, then
:func:`~iotwarden.sources.zeek_map.map_conn`) is compiled, per header, into a plan: which part of a
line holds each column :func:`~iotwarden.sources.zeek_map.conn_shape` reads, with the header's own
converter, and which other columns must still be decoded to refuse a malformed line as
``decode_tsv`` does. It takes ASCII lines without ``\\x`` escapes (what Zeek's ASCII writer writes
for a conn.log: it escapes every other byte) as text, where each column's bytes decode to the very
text ``decode_tsv`` gives. Contract: :meth:`ConnLines.flow` returns the Flow the general path makes,
or None for a line it does not take plainly (not such a line, column count, a value a converter
refuses, unset time or address, an address to normalise that is not one, a port out of range),
which the general path then decides as before (same Flow, or the same ParseError counted).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any, NamedTuple

from iotwarden.model import Flow
from iotwarden.sources.zeek_connflow import EXTRA_BUT_UID, ConnShape, conn_shape, ends_in_range, shaped_flow
from iotwarden.sources.zeek_fields import IP_PROTOS, norm_ip
from iotwarden.sources.zeek_format import (
    TsvHeader,
    column_converters,
    column_type,
    count,
    epoch,
    finite,
    group_fits,
    may_refuse,
)

# The columns a Flow is made of and the Zeek type each must be declared with for the fast path
# (base/protocols/conn/main.zeek ``Conn::Info``; ip_proto Zeek >= 7.1; vlan/inner_vlan from
# policy/protocols/conn/vlan-logging.zeek; orig/resp_l2_addr from mac-logging.zeek; community_id from
# policy/frameworks/notice/community-id.zeek; failed_service from failed-service-logging.zeek). A
# header declaring one of them with another type is read by the general path only.
COLUMNS: dict[str, str] = {
    "ts": "time", "id.orig_h": "addr", "id.orig_p": "port", "id.resp_h": "addr", "id.resp_p": "port",
    "proto": "enum", "ip_proto": "count", "service": "string", "failed_service": "set[string]",
    "history": "string", "duration": "interval", "inner_vlan": "int", "vlan": "int",
    "orig_l2_addr": "string", "resp_l2_addr": "string",
    "orig_pkts": "count", "resp_pkts": "count", "orig_ip_bytes": "count", "resp_ip_bytes": "count",
    "orig_bytes": "count", "resp_bytes": "count",
    "uid": "string", "conn_state": "string", "missed_bytes": "count", "local_orig": "bool", "local_resp": "bool",
    "community_id": "string",
}
_SLOT = {name: slot for slot, name in enumerate(COLUMNS)}
_EXTRA_SLOTS = tuple((name, _SLOT[name]) for name in EXTRA_BUT_UID)
_UID = _SLOT["uid"]
_REQUIRED = ("ts", "id.orig_h", "id.resp_h")
# columns whose text differs from line to line: a line's head ends after the last of them
PER_LINE = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p")
MAX_TAILS = 4096  # distinct line tails remembered decoded (a scan's probes: a few); past it they start over
MAX_ORIGINS = 4096  # originator addresses remembered normalised (a bot's scan: one); past it they start over
_UNSEEN: Any = object()

# how a column's text becomes its value: Zeek text types as they are, ``string`` with its empty
# marker, a set of strings, or a converter (int() and float() read ASCII text as they read its bytes)
_AS_IS, _STRING, _STRING_SET, _CALL = range(4)
_TEXT_KIND = {"addr": _AS_IS, "enum": _AS_IS, "string": _STRING, "set[string]": _STRING_SET}
_Columns = tuple[tuple[int, int, int, Callable[[str], Any] | None], ...]  # (slot, part index, kind, converter)
# the columns by kind, so a line goes through each without a test per column: (slot, part index) of
# the text kept as is, of the strings, (slot, part index, converter) of the numbers, then of the sets
_Parts = tuple[tuple[int, int], ...]
_Plan = tuple[_Parts, _Parts, tuple[tuple[int, int, Callable[[str], Any]], ...], _Parts]
_Checks = tuple[tuple[int, Callable[[bytes], Any]], ...]  # (part index, converter) decoded only to validate


def _bool(raw: str) -> bool:
    if raw == "T":
        return True
    if raw == "F":
        return False
    raise ValueError("bool is neither T nor F")


_NUMBERS: dict[str, Callable[[str], Any]] = {"count": count, "int": int, "port": int, "time": epoch,
                                             "interval": finite, "bool": _bool}


def _by_kind(columns: _Columns) -> _Plan:
    """The plan of ``columns``: those of each kind apart, in their order."""
    def of(kind: int) -> tuple[tuple[int, int], ...]:
        return tuple((slot, i) for slot, i, k, _ in columns if k == kind)
    calls = tuple((slot, i, conv) for slot, i, k, conv in columns if k == _CALL and conv is not None)
    return of(_AS_IS), of(_STRING), calls, of(_STRING_SET)


class _Tail(NamedTuple):
    """How the tail of a line in one layout decodes: its parts, and the columns, checks and grouped
    parts by their index in the tail."""

    parts: int
    plan: _Plan
    checks: _Checks
    multi: tuple[tuple[int, int], ...]  # (part, names it holds) of parts holding several columns


class _Layout(NamedTuple):
    """One way a line splits: its number of parts, the columns and checks by part, its grouped parts."""

    parts: int
    columns: _Columns
    checks: _Checks
    multi: tuple[tuple[int, int], ...]

    def after(self, head: int) -> _Tail:
        """The layout of a line's tail past its ``head`` parts (every grouped part is in the tail)."""
        return _Tail(self.parts - head,
                     _by_kind(tuple((slot, i - head, kind, conv) for slot, i, kind, conv in self.columns if i >= head)),
                     tuple((i - head, conv) for i, conv in self.checks if i >= head),
                     tuple((p - head, size) for p, size in self.multi))


def _ascii(value: bytes) -> str | None:
    return value.decode("ascii") if value.isascii() else None


class ConnLines:
    """The fast path compiled for one conn.log TSV header (see the module docstring).

    A line is decoded in two pieces: its head, the parts up to the last column that differs on every
    line (:data:`PER_LINE`: time, uid, addresses, ports), decoded each time, and its tail, the rest,
    decoded once per distinct text and remembered (:data:`MAX_TAILS`): a scan's probes share one
    tail (``tcp - - - - S0 - - 0 S 1 40 0 0 ...``). Each column's value depends on its own text
    only, so a remembered tail decodes as it would again. When the head is the per-line columns
    alone (what Zeek writes), a tail is remembered as its Flow's shape
    (:class:`~iotwarden.sources.zeek_map.ConnShape`: everything but time, uid, addresses and ports),
    and a line is its head's six texts read straight into :func:`~iotwarden.sources.zeek_map.shaped_flow`.
    """

    __slots__ = ("_empty", "_head", "_head_checks", "_head_plan", "_layouts", "_origins", "_pick", "_sep",
                 "_set_sep", "_tails", "_unset")

    def __init__(self, header: TsvHeader, index: dict[str, int], part_of: list[int] | None,
                 text: tuple[str, str, str, str]) -> None:
        converters = column_converters(header)
        self._sep, self._unset, self._empty, self._set_sep = text
        width = len(header.fields)
        wanted = {i for name, i in index.items() if name in COLUMNS}
        checked = [i for i in range(width) if i not in wanted and may_refuse(column_type(header, i))]
        columns: _Columns = tuple((_SLOT[name], i, _TEXT_KIND.get(COLUMNS[name], _CALL), _NUMBERS.get(COLUMNS[name]))
                                  for name, i in index.items() if name in COLUMNS)
        checks: _Checks = tuple((i, converters[i]) for i in checked)
        # the layouts of a line: one part per column, or (a header whose #fields part holds several
        # names, IoT-23's "tunnel_parents   label   detailed-label") one part per #fields part
        layouts = [_Layout(width, columns, checks, ())]
        groups = header.groups or []
        if part_of is not None:
            by_part = tuple((slot, part_of[i], kind, conv) for slot, i, kind, conv in columns)
            layouts.append(_Layout(len(groups), by_part, tuple((part_of[i], conv) for i, conv in checks),
                                   tuple((p, size) for p, size in enumerate(groups) if size > 1)))
        # the head ends after the last per-line column; it must be the same parts in every layout and
        # leave a tail (else the whole line is decoded each time: head 0)
        head = 1 + max(index[name] for name in PER_LINE if name in index)
        if head >= min(layout.parts for layout in layouts) or (part_of is not None and part_of[head - 1] != head - 1):
            head = 0
        self._head = head
        self._head_plan = _by_kind(tuple(c for c in columns if c[1] < head))
        self._head_checks: _Checks = tuple(c for c in checks if c[0] < head)
        self._layouts = tuple(layout.after(head) for layout in layouts)
        # the head holds the per-line columns and nothing else (every Zeek conn.log): a line is its head's
        # six texts and its tail's shape (see _shaped); otherwise the head is decoded by its plan
        self._pick: Callable[[list[str]], tuple[str, ...]] | None = None
        if head == len(PER_LINE) and {index.get(name) for name in PER_LINE} == set(range(head)):
            self._pick = itemgetter(*(index[name] for name in PER_LINE))
        # tail text -> its shape (with _pick) or its columns' values by slot; None: refused
        self._tails: dict[str, Any] = {}
        self._origins: dict[str, str] = {}  # id.orig_h text -> norm_ip of it (the responders are a scan's targets)

    @classmethod
    def compile(cls, header: TsvHeader) -> ConnLines | None:
        """The fast path for lines under ``header``; None when it declares a column we read with
        another type or lacks time or addresses (every line goes the general way)."""
        index: dict[str, int] = {}
        for i, name in enumerate(header.fields):
            if name in index:
                return None  # a repeated name: the general path's dict keeps the last one
            index[name] = i
        if any(name not in index for name in _REQUIRED):
            return None
        if any(name in COLUMNS and column_type(header, i) != COLUMNS[name] for name, i in index.items()):
            return None
        part_of: list[int] | None = None
        if header.groups is not None:
            part_of = [p for p, size in enumerate(header.groups) for _ in range(size)]
            for i, part in enumerate(part_of):
                # a column we decode must be a part of its own; a grouped one sends its lines the general way
                if header.groups[part] > 1 and (header.fields[i] in COLUMNS or may_refuse(column_type(header, i))):
                    part_of = None
                    break
        text = tuple(_ascii(v) for v in (header.separator, header.unset_field, header.empty_field,
                                         header.set_separator))
        if any(t is None for t in text):
            return None  # markers that are not ASCII: the general path compares bytes
        return cls(header, index, part_of, text)  # type: ignore[arg-type]

    def flow(self, line: bytes) -> Flow | None:
        """The Flow of one data line (``ts`` is its ``first_seen``), or None: ask the general path."""
        if not line.isascii() or b"\\x" in line:
            return None
        head = self._head
        parts = line.decode("ascii").split(self._sep, head)
        if len(parts) <= head:
            return None  # the line ends within its head
        if head:
            tails = self._tails
            known = tails.get(parts[head], _UNSEEN)
            if known is _UNSEEN:
                if len(tails) >= MAX_TAILS:
                    tails.clear()
                known = tails[parts[head]] = self._tail_entry(parts[head])
            if known is None:
                return None
            if self._pick is not None:
                return self._shaped(known, parts)
            v = known.copy()
        else:
            v = self._tail(parts[0])
            if v is None:
                return None
        if not self._decode(parts, self._head_plan, self._head_checks, v):
            return None
        ts, orig_h, orig_p, resp_h, resp_p = v[:5]
        if ts is None or not orig_h or not resp_h:
            return None
        return self._complete(_shape(v), ts, orig_h, orig_p, resp_h, resp_p, v[_UID])

    def _shaped(self, shape: ConnShape, parts: list[str]) -> Flow | None:
        """The Flow of a line whose head is the per-line columns alone: their six texts decoded as the
        head's plan would decode them (time, string, address and port kinds), completing ``shape``."""
        unset = self._unset
        ts_text, uid, orig_h, orig_p_text, resp_h, resp_p_text = self._pick(parts)  # type: ignore[misc]
        if unset in (ts_text, orig_h, resp_h) or not orig_h or not resp_h:
            return None
        try:
            ts = epoch(ts_text)
            orig_p = None if orig_p_text == unset else int(orig_p_text)
            resp_p = None if resp_p_text == unset else int(resp_p_text)
        except ValueError:
            return None
        return self._complete(shape, ts, orig_h, orig_p, resp_h, resp_p,
                              None if uid == unset else "" if uid == self._empty else uid)

    def _complete(  # noqa: PLR0917 - once per line: keywords cost it
        self, shape: ConnShape, ts: float, orig_h: str, orig_p: int | None, resp_h: str, resp_p: int | None,
        uid: str | None,
    ) -> Flow | None:
        """The line's Flow once its ports are in range and its addresses normalise; else None."""
        if (orig_p is not None and not 0 <= orig_p <= 0xFFFF) or (resp_p is not None and not 0 <= resp_p <= 0xFFFF):
            return None
        if not ends_in_range(ts, shape.duration):  # the general path refuses it
            return None
        origins = self._origins
        orig = origins.get(orig_h)
        try:
            if orig is None:
                if len(origins) >= MAX_ORIGINS:
                    origins.clear()
                orig = origins[orig_h] = norm_ip(orig_h)
            resp = norm_ip(resp_h)
        except ValueError:
            return None
        return shaped_flow(shape, ts, orig, orig_p, resp, resp_p, uid)

    def _tail_entry(self, text: str) -> Any:
        """What the tail cache holds for a tail: its shape (with :attr:`_pick`) or its values by slot; None: refused."""
        v = self._tail(text)
        if v is None or self._pick is None:
            return v
        return _shape(v)

    def _tail(self, text: str) -> list[Any] | None:
        """The values (by slot) of the columns in a line's tail, or None: the fast path does not take it."""
        parts = text.split(self._sep)
        layout = next((t for t in self._layouts if t.parts == len(parts)), None)
        if layout is None:
            return None
        for p, size in layout.multi:
            if not group_fits(parts[p].encode("ascii"), size):
                return None
        v: list[Any] = [None] * len(COLUMNS)
        return v if self._decode(parts, layout.plan, layout.checks, v) else None

    def _decode(self, parts: list[str], plan: _Plan, checks: _Checks, v: list[Any]) -> bool:
        """``plan``'s columns of ``parts`` into ``v`` (by slot), after ``checks``; False when a value is refused."""
        unset, empty = self._unset, self._empty
        as_is, strings, calls, sets = plan
        try:
            for i, check in checks:
                if parts[i] != unset:
                    check(parts[i].encode("ascii"))
            for slot, i in as_is:
                raw = parts[i]
                if raw != unset:
                    v[slot] = raw
            for slot, i in strings:
                raw = parts[i]
                if raw != unset:
                    v[slot] = "" if raw == empty else raw
            for slot, i, convert in calls:
                raw = parts[i]
                if raw != unset:
                    v[slot] = convert(raw)
            for slot, i in sets:  # a set of strings; its unset items are None
                raw = parts[i]
                if raw != unset:
                    v[slot] = [] if raw == empty else [None if s == unset else s for s in raw.split(self._set_sep)]
        except ValueError:
            return False
        return True


def _shape(v: list[Any]) -> ConnShape:
    """The shape of a line's Flow from its columns' values by slot (those of its tail alone with
    :attr:`ConnLines._pick`: the per-line columns take no part in a shape)."""
    (proto, ip_proto, service, failed_service, history, duration, inner_vlan, vlan, orig_l2, resp_l2,
     *counters) = v[5:21]
    return conn_shape(
        proto=IP_PROTOS.get(proto) if proto else None, ip_proto=ip_proto,
        listed=[s for s in service.split(",") if s] if service else [],
        failed_column=[s for s in failed_service if s and s != "-"] if failed_service else [],
        history=history or "", extra={name: v[slot] for name, slot in _EXTRA_SLOTS if v[slot] is not None},
        duration=duration, vlan=inner_vlan if inner_vlan is not None else vlan, orig_l2=orig_l2 or None,
        resp_l2=resp_l2 or None, counters=tuple(counters),
    )
