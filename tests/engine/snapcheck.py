"""Test tool: what ``analyze`` concludes of a capture cut by a short snap length (issues #3/#4).

Sensors and ``tcpdump -s 96`` keep each frame's first bytes only: every record's captured length is then
below its original length (pcap: draft-ietf-opsawg-pcap §5 "CapLen" / "OrigLen"; pcapng: RFC draft
draft-ietf-opsawg-pcapng §4.3 "Captured Packet Length" / "Original Packet Length"). :func:`snap` rewrites
a capture so, keeping each record's original length and setting the file header's snap length;
:func:`check` runs the analyze service over the capture rewritten whole and cut at each of
:data:`SNAPLENS` and lists what changed:

* counters, which must not change: the flows (their keys), each flow's packets, bytes and payload bytes
  per direction (counted from the original length, as Zeek's conn.log and tshark's conversations do);
* conclusions, which may be lost (unknown) with less data but never become other ones: a flow's
  application, each device's vendor/type/model/OS/firmware/category, the findings and the alerts (a cut
  capture may raise fewer, none that the whole one does not);
* analyzer errors (a crash caught), which a cut must not cause; parse errors are reported, not judged.

The reference is the rewrite with nothing cut (same writer, same timestamps), so what differs is the cut's
doing. What is accepted is listed in :data:`ALLOWED` with its reason. ``bench/snaplen.py`` runs the check
over the shared captures and the lab scenarios; tests/engine/test_snaplen.py over a few in the default suite.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from iotwarden.engine.batch import PacketBatch
from iotwarden.errors import CaptureError
from iotwarden.sources.capfile import read_capture

SNAPLENS = (64, 96, 128, 256, 1514)
DEVICE_FIELDS = ("vendor", "device_type", "model", "os", "firmware", "category")
FULL_SNAPLEN = 262144  # libpcap's MAXIMUM_SNAPLEN: the header of the whole rewrite


@dataclass(frozen=True)
class Allowed:
    """An accepted difference: its kind (``flow.app``, ``device.model``, ``alerts``...) in a capture."""

    capture: str  # substring of the capture's path
    kind: str
    item: str  # substring of the difference's line
    reason: str
    max_snaplen: int = 1 << 30  # only at snap lengths up to this

    def covers(self, capture: Path, snaplen: int, kind: str, line: str) -> bool:
        return (self.capture in str(capture) and self.kind == kind and self.item in line
                and snaplen <= self.max_snaplen)


ALLOWED: tuple[Allowed, ...] = (
    Allowed("", "flow.orientation", "",
            "a flow seen without its handshake is oriented by what its first messages say (a DCE/RPC request's "
            "sender is the client: dissect/base.py FLIP_STATE_KEY), else by its ports (engine/orient.py); with "
            "those messages cut the ports decide (ics_iti ModbusTCP/mb2.pcap, 141.81.0.183:1080 and "
            "141.81.0.10:49188); the counters are the same, swapped"),
    Allowed("", "flow.presence", "-> None",
            "-s 64 under IPv6 (14 + 40 header bytes) or IPv4 with options cuts the TCP header itself: no ports, "
            "so no flow, as Zeek (weird internally_truncated_header) and tshark's conversations (no TCP layer) "
            "make none", 73),
    Allowed("labeled_locks_cams/", "alerts", "detect.c2.beaconing",
            "detect.c2.beaconing spares heartbeats to destinations the device looked up in DNS (detect/beacon.py): "
            "the cut DNS answers no longer name the locks' MQTT brokers (8883), so their 290 s heartbeats are "
            "judged as to unnamed addresses"),
    Allowed("", "findings", "risk.ot.unauthorized_write",
            "the writer's identity (an engineering workstation, an HMI) came from messages the cut lost while its "
            "short Modbus writes still fit: a writer of no known type authorises nothing (risk.ot.unauthorized_write "
            "trusts types, not behaviour), as with a capture that never saw the workstation's own traffic (lab "
            "scenarios at -s 96)"),
    Allowed("", "alerts", "detect.lateral.admin_protocol",
            "detect.lateral.admin_protocol spares the admin protocols (SSH, RDP, RPC) of devices known to be IT or "
            "network gear; with the banners or names that said so cut, the source is of no known type and is not "
            "spared (suricata-verify ssh-hassh-reassembled at -s 64, lab rdp and rpc scenarios)"),
    Allowed("lab-enterprise-c2", "alerts", "detect.c2.p2p_udp",
            "the bot's BitTorrent DHT messages (bencoded, dissect/dht.py) are cut, so its flows are no longer named "
            "dht and detect.c2.p2p_dht's alert on the same socket becomes detect.c2.p2p_udp's, the detector of a "
            "P2P channel in a protocol unrecognised, as from a conn.log (detect/p2p_udp.py)"),
    *(Allowed("bro/modbus/fuzz-72.pcap", kind, "",
              "Zeek's fuzzed Modbus capture: bits flipped anywhere in its frames, MAC addresses included; which "
              "corrupted frame's Modbus message is read depends on where the stream was cut")
      for kind in ("device.presence", "evidence")),
)

# A device conclusion the cut capture draws otherwise (a vendor from the MAC's OUI where the whole capture read
# the application's identity, "ied" where it read a PMU's configuration) is accepted when every fact the cut
# capture holds about the device is one the whole capture holds too: the classifier concluded from fewer true
# facts, as it would from a capture that holds less of the device's traffic; no fact was misread from a cut
# message (that would be a new fact, reported as "evidence" and never accepted). A finding or alert the whole
# capture does not raise needs its own entry in ALLOWED.
FEWER_FACTS = Allowed("", "*", "", "classified from fewer facts, all of them facts the whole capture holds too")


def _frames(src: Path) -> Iterator[tuple[int, float, bytes, int]]:
    """(link type, ts, captured bytes, original length) of every record, in capture order."""
    try:
        batches = list(_batches(src))
    except CaptureError as exc:
        raise Unreadable(str(exc)) from exc
    for batch in batches:
        data = batch.data
        for off, cap, wire, ts, lt in zip(batch.offsets.tolist(), batch.caplen.tolist(), batch.wirelen.tolist(),
                                          batch.ts.tolist(), np.asarray(batch.linktype).tolist(), strict=True):
            yield int(lt), float(ts), data[off:off + cap].tobytes(), int(wire)


class Unreadable(Exception):
    """The capture cannot be read at all (an unsupported link type, not a capture)."""


def _batches(src: Path) -> Iterator[PacketBatch]:
    """The capture's batches; one damaged part-way gives those before the damage (analyze keeps them too)."""
    got = False
    try:
        for batch in read_capture(src):
            got = True
            yield batch
    except CaptureError:
        if not got:
            raise


def snap(src: Path, dst: Path, snaplen: int | None) -> Path:
    """Write ``src`` to ``dst`` with every record cut to ``snaplen`` bytes (None: whole), original lengths kept.

    One link type: a nanosecond pcap whose header says ``snaplen``; several: a pcapng with one interface per
    link type, each with that snap length (if_tsresol 9). Timestamps go through the reader's float seconds,
    so compare a cut with the whole rewrite, not with ``src``."""
    return write(list(_frames(src)), dst, snaplen)


def write(frames: list[tuple[int, float, bytes, int]], dst: Path, snaplen: int | None) -> Path:
    """``frames`` ((link type, ts, captured bytes, original length), as :func:`_frames` reads them) written to
    ``dst`` as :func:`snap` writes a capture, each cut to ``snaplen`` bytes (None: whole)."""
    linktypes = sorted({lt for lt, *_ in frames})
    limit = snaplen if snaplen is not None else FULL_SNAPLEN
    with dst.open("wb") as fh:
        if len(linktypes) <= 1:
            # pcap §4 file header: magic (nanosecond), version 2.4, reserved x2, SnapLen, LinkType
            fh.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, limit, linktypes[0] if linktypes else 1))
            for _, ts, data, wire in frames:
                ns = round(ts * 1e9)
                cut = data[:limit]
                fh.write(struct.pack("<IIII", ns // 1_000_000_000, ns % 1_000_000_000, len(cut), wire))
                fh.write(cut)
            return dst
        fh.write(_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))  # SHB §4.1
        iface = {}
        for i, lt in enumerate(linktypes):  # IDB §4.2 with if_tsresol (option 9) = 10^-9
            opts = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0)
            fh.write(_block(1, struct.pack("<HHI", lt, 0, limit) + opts))
            iface[lt] = i
        for lt, ts, data, wire in frames:  # EPB §4.3
            ns = round(ts * 1e9)
            cut = data[:limit]
            pad = b"\0" * (-len(cut) % 4)
            fh.write(_block(6, struct.pack("<IIIII", iface[lt], ns >> 32, ns & 0xFFFFFFFF, len(cut), wire) + cut + pad))
    return dst


def _block(kind: int, body: bytes) -> bytes:
    size = 12 + len(body)
    return struct.pack("<II", kind, size) + body + struct.pack("<I", size)


@dataclass
class Seen:
    """What one analyze run stored of one capture."""

    flows: dict[str, tuple[int, ...]] = field(default_factory=dict)  # key -> counters
    apps: dict[str, str | None] = field(default_factory=dict)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: set[str] = field(default_factory=set)
    alerts: set[str] = field(default_factory=set)
    # (device, proto, kind, field, value): evidence rows, and the device's attributes and protocols
    evidence: set[tuple[str, ...]] = field(default_factory=set)
    addresses: dict[str, set[str]] = field(default_factory=dict)  # IP -> keys of the devices holding it
    stats: dict[str, Any] = field(default_factory=dict)
    status: str = ""
    error: str | None = None


def analyse(path: Path, work: Path) -> Seen:
    """``path`` through the analyze service into a fresh SQLite store under ``work``."""
    from iotwarden.services.analyze import analyze
    from iotwarden.store import Store

    template = work / "template.db"
    if not template.exists():
        Store(f"sqlite:///{template}").close()
        for extra in work.glob("template.db-*"):
            extra.unlink()
    db = work / "one.db"
    for stale in work.glob("one.db*"):
        stale.unlink()
    shutil.copyfile(template, db)
    with Store(f"sqlite:///{db}") as store:
        report = analyze([path], store)
    seen = Seen(status=report.files[0].status, error=report.files[0].error)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        for r in conn.execute("SELECT * FROM flows"):
            key = (f"{r['ip_proto']} {r['a_ip']}:{r['a_port']} {r['b_ip']}:{r['b_port']} v{r['vlan']} "
                   f"{r['first_seen']:.6f}")
            seen.flows[key] = (r["pkts_ab"], r["pkts_ba"], r["bytes_ab"], r["bytes_ba"], r["payload_ab"],
                               r["payload_ba"])
            seen.apps[key] = r["app"]
        cols = ", ".join(DEVICE_FIELDS)
        seen.devices = {r["key"]: {f: r[f] for f in DEVICE_FIELDS}
                        for r in conn.execute(f"SELECT key, {cols} FROM devices")}  # noqa: S608
        seen.findings = {f"{r[0]} {r[1]}" for r in conn.execute("SELECT check_id, device_key FROM findings")}
        seen.alerts = {f"{r[0]} {r[1]}" for r in conn.execute("SELECT detector_id, device_key FROM alerts")}
        seen.evidence = {tuple(str(x) for x in r) for r in conn.execute(
            "SELECT device_key, proto, kind, field, value FROM evidence")}
        for r in conn.execute("SELECT key, ips, attributes, protocols FROM devices"):
            for ip in json.loads(r[1] or "[]"):
                seen.addresses.setdefault(str(ip), set()).add(r[0])
            # what the device's traffic showed beside its evidence: its services and protocols are facts too
            for name, values in (json.loads(r[2] or "{}") or {}).items():
                for value in values if isinstance(values, list) else [values]:
                    seen.evidence.add((r[0], "attribute", str(name), "", str(value)))
            for proto in json.loads(r[3] or "[]"):
                seen.evidence.add((r[0], "protocol", str(proto), "", ""))
        stats = [json.loads(r[0] or "{}") for r in conn.execute("SELECT stats FROM captures")]
    seen.stats = stats[0] if stats else {}
    return seen


@dataclass
class Difference:
    capture: Path
    snaplen: int
    kind: str  # counters, flow.presence, flow.app, device.FIELD, device.presence, findings, alerts, analyzer_errors
    line: str
    allowed: Allowed | None = None

    def text(self) -> str:
        why = f" [allowed: {self.allowed.reason}]" if self.allowed else ""
        return f"{self.capture} -s {self.snaplen} {self.kind}: {self.line}{why}"


def _turned(whole: Seen, cut: Seen) -> dict[str, str]:
    """Flows of one capture that the other keys the other way round, with the same counters swapped: key ->
    the reversed key (both keys are in the result)."""
    out: dict[str, str] = {}
    for key, counters in whole.flows.items():
        if key in cut.flows:
            continue
        proto, a, b, vlan, first = key.split(" ")
        back = f"{proto} {b} {a} {vlan} {first}"
        swapped = cut.flows.get(back)
        if back not in whole.flows and swapped is not None and swapped == tuple(
                counters[i ^ 1] for i in range(len(counters))):
            out[key], out[back] = back, key
    return out


def compare(whole: Seen, cut: Seen) -> Iterator[tuple[str, str]]:
    """(kind, line) for each way ``cut`` is not ``whole`` with conclusions lost at most."""
    if (cut.status, cut.error) != (whole.status, whole.error):
        yield "file", f"status {whole.status} {whole.error!r} -> {cut.status} {cut.error!r}"
    turned = _turned(whole, cut)
    for key in sorted(set(whole.flows) | set(cut.flows)):
        a, b = whole.flows.get(key), cut.flows.get(key)
        if key in turned:
            if a is not None:
                yield "flow.orientation", f"{key}: initiator now the other end ({turned[key]})"
            continue
        if a is None or b is None:
            yield "flow.presence", f"{key}: {a} -> {b}"
            continue
        if a != b:
            yield "counters", f"{key}: {a} -> {b}"
        app_a, app_b = whole.apps.get(key), cut.apps.get(key)
        if app_b is not None and app_b != app_a:
            yield "flow.app", f"{key}: {app_a} -> {app_b}"
    for key in sorted(set(cut.devices)):
        if key not in whole.devices:
            yield "device.presence", f"{key}: new {cut.devices[key]}"
            continue
        for f in DEVICE_FIELDS:
            was, now = whole.devices[key].get(f), cut.devices[key].get(f)
            if now is not None and now != was:
                yield f"device.{f}", f"{key}: {was!r} -> {now!r}"
    for kind in ("findings", "alerts"):
        for item in sorted(getattr(cut, kind) - getattr(whole, kind)):
            yield kind, f"+ {item}"
    for row in sorted(cut.evidence - whole.evidence):
        yield "evidence", f"{row[0]}: new fact {row[1:]}"
    errors_a, errors_b = whole.stats.get("analyzer_errors", {}), cut.stats.get("analyzer_errors", {})
    for name in sorted(set(errors_b)):
        if errors_b[name] > errors_a.get(name, 0):
            yield "analyzer_errors", f"{name}: {errors_a.get(name, 0)} -> {errors_b[name]}"
    if whole.stats.get("packets") != cut.stats.get("packets") or whole.stats.get("bytes") != cut.stats.get("bytes"):
        yield "counters", (f"capture packets/bytes {whole.stats.get('packets')}/{whole.stats.get('bytes')} -> "
                           f"{cut.stats.get('packets')}/{cut.stats.get('bytes')}")


@dataclass
class Result:
    capture: Path
    whole: Seen
    cuts: dict[int, Seen]
    differences: list[Difference]

    def lost(self, snaplen: int) -> dict[str, int]:
        """Conclusions the cut at ``snaplen`` lost (became unknown), by kind: what shorter captures cost."""
        cut = self.cuts[snaplen]
        out = {"flow.app": sum(1 for k, a in self.whole.apps.items() if a and not cut.apps.get(k))}
        for f in DEVICE_FIELDS:
            out[f"device.{f}"] = sum(1 for k, d in self.whole.devices.items()
                                     if d.get(f) and not (cut.devices.get(k) or {}).get(f))
        out["findings"] = len(self.whole.findings - cut.findings)
        out["alerts"] = len(self.whole.alerts - cut.alerts)
        return {k: v for k, v in out.items() if v}


def _device_facts(seen: Seen, key: str) -> set[tuple[str, ...]]:
    return {row for row in seen.evidence if row[0] == key}


def _from_fewer_facts(whole: Seen, cut: Seen, kind: str, line: str) -> bool:
    """Whether a device conclusion differs only as a device known by fewer, true facts does: its facts in ``cut``
    a subset of those in ``whole``, and strictly fewer (or, for a device known by its address alone, facts the
    whole capture holds about the MAC device that had that address)."""
    if kind in ("device.presence", "evidence"):
        # a device known by its address alone, where the whole capture tied that address to a MAC's device (a
        # DHCP or ARP message the cut lost): the same host listed apart, its facts all the whole capture's (its
        # facts then come as new ones of that device: accepted alike)
        key = line.split(": ", 1)[0]
        ip = key.removeprefix("ip:")
        holders = whole.addresses.get(ip, set())
        if not key.startswith("ip:") or not holders:
            return False
        return all(any(row[1:] == other[1:] for h in holders for other in _device_facts(whole, h))
                   for row in _device_facts(cut, key))
    if kind.startswith("device."):
        key = line.split(": ", 1)[0]
    else:
        return False
    facts_whole, facts_cut = _device_facts(whole, key), _device_facts(cut, key)
    return facts_cut < facts_whole


def check(src: Path, work: Path, snaplens: tuple[int, ...] = SNAPLENS) -> Result:
    """Analyse ``src`` rewritten whole and cut at each snap length; the differences, allowed ones marked."""
    work.mkdir(parents=True, exist_ok=True)
    whole = analyse(snap(src, work / "whole.pcap", None), work)
    cuts: dict[int, Seen] = {}
    diffs: list[Difference] = []
    for n in snaplens:
        cuts[n] = seen = analyse(snap(src, work / f"s{n}.pcap", n), work)
        for kind, line in compare(whole, seen):
            rule = next((a for a in ALLOWED if a.covers(src, n, kind, line)), None)
            if rule is None and _from_fewer_facts(whole, seen, kind, line):
                rule = FEWER_FACTS
            diffs.append(Difference(src, n, kind, line, rule))
    return Result(src, whole, cuts, diffs)
