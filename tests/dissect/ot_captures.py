"""Test helper for the OT dissectors: every real capture to sweep, and the dissector contract check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iotwarden.dissect.base import Dissector, Packet, StreamDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.conftest import SHARED_DATA
from tests.pcaputil import run_dissector

PCAPS = SHARED_DATA / "pcaps"
ICS = PCAPS / "ics_iti" / "pcaps"
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")


def sweep_captures() -> list[Path]:
    """Every ics_iti and tcpdump_tests capture (empty when the shared data is absent)."""
    found: list[Path] = []
    for root in (ICS, PCAPS / "tcpdump_tests"):
        if root.is_dir():
            found += [p for p in root.rglob("*") if p.suffix in CAPTURE_SUFFIXES and p.is_file()]
    return sorted(found)


def sweep_id(path: Path) -> str:
    return str(path.relative_to(PCAPS)) if path.is_relative_to(PCAPS) else path.name


def run(d: Dissector, path: Path) -> tuple[list[Observation], list[Exception]]:
    """Observations and counted ParseErrors of ``d`` over a capture; a shared one's frames are decoded once a process
    (pcaputil.frames: the sweeps read each in every OT dissector's module)."""
    errors: list[Exception] = []
    return run_dissector(d, path, errors=errors, keep=path.is_relative_to(PCAPS)), errors


def contract(d: Dissector, payload: bytes, *, to_server: bool = True, ip_proto: int = 6,
             port: int = 0, state: dict[str, Any] | None = None) -> list[Observation]:
    """Feed one payload; assert the contract: a list of Observations or a ParseError, nothing else."""
    pkt = Packet(ts=1.0, payload=payload, src_ip="10.0.0.1", dst_ip="10.0.0.2", ip_proto=ip_proto,
                 src_port=40000 if to_server else port, dst_port=port if to_server else 40000,
                 to_server=to_server)
    try:
        if isinstance(d, StreamDissector):
            out = d.feed(pkt, payload, {} if state is None else state)
        else:
            out = d.dissect(pkt, {} if state is None else state)
    except ParseError:
        return []
    assert isinstance(out, list)
    assert all(isinstance(o, Observation) for o in out)
    return out
