"""Issue #3's acceptance on ../shared/data/pcaps/ics_iti, every capture of every protocol folder: each device
that answers an industrial protocol (a PLC, RTU, IED, PMU, gateway or OPC server) or polls one (SCADA masters,
HMIs, engineering stations) is category OT (BACnet and Niagara Fox only: building) with those protocols among
its protocols; each folder has devices answering its protocol.

The older hand-picked table (tests/inventory/test_classifier.py ICS) pins vendors, models and types."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.addons import AddonManager, default_analyzers
from iotwarden.engine.core import Engine
from iotwarden.errors import CaptureError
from iotwarden.hooks import Context
from iotwarden.model import Device
from iotwarden.sources.capfile import read_capture
from tests.conftest import SHARED_DATA

ICS = SHARED_DATA / "pcaps" / "ics_iti" / "pcaps"
BUILDING = {"bacnet", "fox"}
OT = {"modbus", "s7comm", "enip", "dnp3", "mms", "iec104", "hartip", "c37118", "opcua", "ads", "fins", "melsec",
      "melsoft"}
# protocol folders -> the protocols their controllers answer (the folder's own protocol at least)
FOLDERS = {
    "BACnet": {"bacnet"}, "C37.118": {"c37118"}, "CIP": {"enip"}, "EthernetIP": {"enip"},
    "IEC60870-5-104": {"iec104"}, "IEC61850": {"mms"}, "MELSEC": {"melsoft"}, "ModbusTCP": {"modbus"},
    "OPC": {"opcua"}, "beckoff": {"ads"}, "dnp3": {"dnp3"}, "hart": {"hartip"},
    "fox": set(),  # fox_info.pcap's Niagara station is an internet address (a remote peer); its Workbench: building
    "modicon": {"modbus"}, "omron": {"fins"}, "openics": {"enip"}, "s7": {"s7comm"},
}


def _devices(path: Path) -> dict[str, Device]:
    """The default analyzers over one capture, as `iotwarden analyze` runs them; a truncated capture (one of
    the MELSEC samples) counts what was read before the damage, as analyze keeps it."""
    ctx = Context()
    addons = AddonManager(ctx, default_analyzers())
    addons.load()
    engine = Engine()
    try:
        for batch in read_capture(path):
            res = engine.process(batch)
            addons.observations(res.observations)
            addons.flows(res.flows)
            addons.tick(float(batch.ts[-1]))
    except CaptureError as exc:
        assert "truncated" in str(exc)
    res = engine.flush()
    addons.observations(res.observations)
    addons.flows(res.flows)
    addons.done()
    assert not ctx.stats.analyzer_errors, ctx.stats.analyzer_errors
    return ctx.devices


def _captures(folder: str) -> list[Path]:
    root = ICS / folder
    return sorted(p for p in root.rglob("*") if p.suffix in (".pcap", ".pcapng", ".cap") and p.is_file())


@pytest.mark.skipif(not ICS.is_dir(), reason="../shared/data/pcaps/ics_iti is not there")
@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_every_controller_of_a_protocol_folder_is_ot_with_its_protocol(folder: str) -> None:
    served: set[str] = set()
    wrong: list[str] = []
    for path in _captures(folder):
        for key, dev in _devices(path).items():
            answers = set(dev.attributes.get("service.server", set())) & (OT | BUILDING)
            polls = set(dev.attributes.get("service.client", set())) & (OT | BUILDING)
            if not answers and not polls:
                continue
            served |= answers
            speaks = answers | polls
            want = {"building"} if speaks <= BUILDING else {"ot", "building"}
            if dev.category not in want or not speaks <= set(dev.protocols):
                wrong.append(f"{path.relative_to(ICS)} {key}: answers {sorted(answers)}, polls {sorted(polls)}, "
                             f"category {dev.category}, protocols {sorted(dev.protocols)}")
    assert wrong == []
    assert FOLDERS[folder] <= served  # the folder's controllers were found answering their protocol
