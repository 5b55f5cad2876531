"""Scenario -> capture: merges every device's and attack's time-ordered frames with a heap and writes
them streaming to a pcap, with the ground truth (devices and attack events) as JSON beside it.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import struct
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

from iotwarden.errors import ConfigError
from iotwarden.lab.attacks import ATTACKS
from iotwarden.lab.behave_app import BEHAVIOURS as APP_BEHAVIOURS
from iotwarden.lab.behave_net import BEHAVIOURS as NET_BEHAVIOURS
from iotwarden.lab.behave_site import BEHAVIOURS as SITE_BEHAVIOURS
from iotwarden.lab.ftp_app import BEHAVIOURS as FTP_BEHAVIOURS
from iotwarden.lab.kasa_app import BEHAVIOURS as KASA_BEHAVIOURS
from iotwarden.lab.knx_app import BEHAVIOURS as KNX_BEHAVIOURS
from iotwarden.lab.ldap_app import BEHAVIOURS as LDAP_BEHAVIOURS
from iotwarden.lab.params import Param
from iotwarden.lab.scenario import MAX_DURATION, PCAP_END_S, Scenario, parse_scenario, read_scenario_file
from iotwarden.lab.sip_app import BEHAVIOURS as SIP_BEHAVIOURS
from iotwarden.lab.tuya_app import BEHAVIOURS as TUYA_BEHAVIOURS
from iotwarden.lab.upnp_app import BEHAVIOURS as UPNP_BEHAVIOURS
from iotwarden.lab.wire import Frame
from iotwarden.lab.world import World
from iotwarden.lab.wsd_app import BEHAVIOURS as WSD_BEHAVIOURS

TRUTH_SCHEMA = "iotwarden.lab.truth/1"
SNAPLEN = 65535
BEHAVIOURS = {**NET_BEHAVIOURS, **APP_BEHAVIOURS, **SITE_BEHAVIOURS, **WSD_BEHAVIOURS, **UPNP_BEHAVIOURS,
              **KASA_BEHAVIOURS, **TUYA_BEHAVIOURS, **SIP_BEHAVIOURS, **KNX_BEHAVIOURS,
              **LDAP_BEHAVIOURS, **FTP_BEHAVIOURS}
WRITE_BUFFER = 1 << 20  # bytes of pcap records buffered before each write


def behaviour_params() -> dict[str, dict[str, Param]]:
    return {kind: spec for kind, (_, spec) in BEHAVIOURS.items()}


def attack_params() -> dict[str, dict[str, Param]]:
    return {kind: spec for kind, (_, spec) in ATTACKS.items()}


def load_scenario(path: Path) -> Scenario:
    """A validated scenario from a YAML file; ConfigError names the path of the bad key."""
    return parse_scenario(read_scenario_file(path), behaviour_params(), attack_params(), source=path.name)


def pcap_record(ts: float, frame: bytes) -> bytes:
    """One classic pcap record (pcap file format §5: seconds, microseconds, captured and original length; the whole
    frame), as :class:`PcapWriter` writes it."""
    if not 0 <= ts < PCAP_END_S:  # attacks' parameters can take a frame a year past the scenario's start
        raise ConfigError(f"a frame at {ts:.0f} s is past 2106-02-07T06:28:15Z, the last time a pcap can carry: "
                          "start the scenario earlier or its attacks sooner")
    micros = round(ts * 1_000_000)
    return struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)) + frame


class PcapWriter:
    """Streaming classic pcap writer (LINKTYPE_ETHERNET, microsecond timestamps, little-endian)."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.packets = 0
        self.bytes = 0
        self._buf: list[bytes] = []
        self._size = 0
        # global header: magic, version 2.4, thiszone, sigfigs, snaplen, linktype 1 (pcap file format §4)
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, 1))

    def write(self, ts: float, frame: bytes) -> None:
        rec = pcap_record(ts, frame)
        self._buf.append(rec)
        self._size += len(rec)
        self.packets += 1
        self.bytes += len(frame)
        if self._size >= WRITE_BUFFER:
            self.flush()

    def flush(self) -> None:
        self.fh.write(b"".join(self._buf))
        self._buf, self._size = [], 0


def frames(scenario: Scenario, *, seed: int | None = None,
           attacks: bool | None = None) -> tuple[Iterator[Frame], list[dict[str, Any]], World]:
    """The capture's frames in time order, the attack events and the world (addresses) of the run.

    ``attacks``: None keeps the scenario's ``enabled`` switches, True enables all, False none.
    """
    world = World(scenario, scenario.seed if seed is None else seed)
    streams: list[Iterator[Frame]] = []
    for dev in scenario.devices:
        for act in dev.behaviours:
            fn, _ = BEHAVIOURS[act.kind]
            streams.append(fn(world, dev, act))
    chosen = scenario.enabled_attacks if attacks is None else (scenario.attacks if attacks else [])
    events = []
    for act in chosen:
        fn_attack, _ = ATTACKS[act.kind]
        stream, event = fn_attack(world, act)
        streams.append(stream)
        events.append(event)
    return heapq.merge(*streams, key=itemgetter(0)), events, world


def truth(scenario: Scenario, world: World, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The ground truth document (schema :data:`TRUTH_SCHEMA`)."""
    devices = [{"id": d.id, "mac": d.mac, "ips": world.addresses(d.id), "vendor": d.vendor, "model": d.model,
                "type": d.type, "category": d.category, "os": d.os, "firmware": d.firmware,
                "hostname": d.hostname, "subnet": d.subnet, "dhcp": d.id in world.leased,
                "behaviours": sorted({b.kind for b in d.behaviours})} for d in scenario.devices]
    return {"schema": TRUTH_SCHEMA, "scenario": scenario.name, "seed": world.seed, "start": world.start,
            "duration": scenario.duration, "devices": devices, "attacks": events}


def generate(scenario: Scenario, pcap: Path, truth_path: Path | None = None, *, seed: int | None = None,
             duration: float | None = None, attacks: bool | None = None) -> dict[str, Any]:
    """Write the capture (and the truth) for ``scenario``; returns the truth plus packet/byte counts."""
    if duration is not None:
        if not 0 < duration <= MAX_DURATION:  # also NaN; the scenario file's own limit
            raise ConfigError(f"duration must be in (0, {MAX_DURATION:g}] seconds, got {duration:g}")
        scenario = dataclasses.replace(scenario, duration=float(duration))
    stream, events, world = frames(scenario, seed=seed, attacks=attacks)
    last = float("-inf")
    partial = pcap.with_name(pcap.name + ".partial")  # renamed when complete: never a half capture
    try:
        with partial.open("wb") as fh:
            writer = PcapWriter(fh)
            for ts, frame in stream:
                if ts < last:  # every stream is ordered, so the merge is: anything else is a generator bug
                    raise RuntimeError(f"lab frames out of time order at {ts} < {last}")
                last = ts
                writer.write(ts, frame)
            writer.flush()
        partial.replace(pcap)
    finally:
        partial.unlink(missing_ok=True)
    doc = truth(scenario, world, events)
    if truth_path is not None:
        truth_path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return {**doc, "packets": writer.packets, "bytes": writer.bytes}
