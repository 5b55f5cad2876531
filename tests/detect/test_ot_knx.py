"""KNX programming over KNXnet/IP (dissect/knxip.py): a host tunnelling a memory write and a restart to a bus device
through the KNX IP router raises detect.ot.program_download and detect.ot.device_restart on the router, naming that
host; group value writes, routed or tunnelled, raise nothing; the site's configured engineering station
(``detect.ot.engineering_stations``, by IP or MAC) programs without an alert."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.detect.ot import OtOperationDetector, stations
from iotwarden.errors import ConfigError
from tests.detect.runner import detect
from tests.dissect import knxbuild as k


def test_programming_from_an_unknown_host_is_an_ot_alert_on_the_router(tmp_path: Path) -> None:
    ctx = detect([k.write_site(tmp_path / "knx.pcap", programmer=k.INTRUDER)])
    ot = {a.id: a for a in ctx.alerts if a.id.startswith("detect.ot")}
    assert set(ot) == {"detect.ot.program_download", "detect.ot.device_restart"}
    download, restart = ot["detect.ot.program_download"], ot["detect.ot.device_restart"]
    assert (download.src_ip, download.dst_ip) == (k.INTRUDER.ip, k.ROUTER.ip)
    assert download.severity == "critical" and "T0843" in download.mitre
    assert "A_Memory_Write" in download.evidence["operation"] and download.evidence["proto"] == "knxip"
    assert "T0816" in restart.mitre and "A_Restart" in restart.evidence["operation"]
    assert restart.subject == f"mac:{k.ROUTER.mac}"


def test_group_writes_raise_nothing(tmp_path: Path) -> None:
    ctx = detect([k.write_site(tmp_path / "knx.pcap", group_writes=40)])
    assert not [a.id for a in ctx.alerts if a.id.startswith("detect.ot")]


@pytest.mark.parametrize("station", [k.ETS.ip, k.ETS.mac.upper(), f"10.0.0.9, {k.ETS.ip}"])
def test_the_configured_engineering_station_programs_without_an_alert(tmp_path: Path, station: str) -> None:
    path = k.write_site(tmp_path / "knx.pcap", programmer=k.ETS)
    assert {a.id for a in detect([path]).alerts if a.id.startswith("detect.ot")} == {
        "detect.ot.program_download", "detect.ot.device_restart"}  # ETS unknown to the detector: alerts
    options = {"detect.ot": {"engineering_stations": station}}
    assert not [a.id for a in detect([path], options).alerts if a.id.startswith("detect.ot")]


def test_engineering_stations_option() -> None:
    assert stations(" 10.0.0.1,02:AA:00:00:00:01 ,, ") == frozenset({"10.0.0.1", "02:aa:00:00:00:01"})
    assert OtOperationDetector().options.engineering_stations == ""
    with pytest.raises(ConfigError, match="engineering_station"):
        OtOperationDetector({"engineering_station": "10.0.0.1"})  # a misspelt option is refused, never ignored
