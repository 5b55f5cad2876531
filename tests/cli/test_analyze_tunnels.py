"""``iotwarden analyze`` on a mirror delivered through a tunnel (ERSPAN from a switch, VXLAN from a cloud's
traffic mirroring): the devices inside it are inventoried as they are from the plain capture, the tunnel's
ends are not, and the run says what it decapsulated."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from scapy.contrib.erspan import ERSPAN_II
from scapy.layers.inet import IP, UDP, fragment
from scapy.layers.l2 import GRE, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Packet, Raw

from iotwarden.cli.main import main
from tests.services import builders as b

SPAN = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")  # the switch and the collector
ROUTE = IP(src="192.0.2.1", dst="192.0.2.2")

WRAPS: dict[str, Callable[[int, bytes], Packet]] = {
    "erspan": lambda i, frame: SPAN / ROUTE / GRE(proto=0x88BE, seqnum_present=1, sequence_number=i)
    / ERSPAN_II(session_id=1) / Raw(frame),
    "vxlan": lambda i, frame: SPAN / ROUTE / UDP(sport=50000 + i % 8, dport=4789) / VXLAN(vni=77) / Raw(frame),
}


def frames() -> list[tuple[float, bytes]]:
    start = 1_700_000_000.0
    return [*b.dhcp_exchange(start), b.arp_reply(start + 0.5), *b.http_session(start + 1.0)]


def analyze(capsys: pytest.CaptureFixture[str], path: Path, db: Path) -> tuple[dict, str]:  # type: ignore[type-arg]
    code = main(["analyze", str(path), "--db", f"sqlite:///{db}", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out), err


def summary(report: dict) -> list[tuple[str, str, int, int]]:  # type: ignore[type-arg]
    """Each device: key, what it was concluded to be, its packets and bytes (the inner frames' lengths)."""
    return sorted((d["key"], json.dumps(d["classification"], sort_keys=True), d["packets"], d["bytes"])
                  for d in report["devices"])


@pytest.mark.parametrize("tunnel", sorted(WRAPS))
def test_a_tunnelled_mirror_inventories_the_same_devices_as_the_plain_capture(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, tunnel: str) -> None:
    plain = b.write_pcap(tmp_path / "plain.pcap", frames())
    wrapped = b.write_pcap(tmp_path / f"{tunnel}.pcap",
                           [(ts, bytes(WRAPS[tunnel](i, frame))) for i, (ts, frame) in enumerate(frames())])
    want, err = analyze(capsys, plain, tmp_path / "plain.db")
    assert "tunnels" not in err
    got, err = analyze(capsys, wrapped, tmp_path / f"{tunnel}.db")
    assert summary(got) == summary(want)
    keys = [key for key, *_ in summary(got)]
    assert f"mac:{b.CAMERA_MAC}" in keys
    assert not any(key.endswith(("192.0.2.1", "192.0.2.2", "02:00:00:00:00:01", "02:00:00:00:00:02")) for key in keys)
    assert "Axis" in json.dumps(got["devices"])
    (stats,) = [f["stats"] for f in got["files"]]
    assert stats["tunnels"] == {tunnel: len(frames())}
    assert f"{len(frames())} packets read inside tunnels ({tunnel} {len(frames())})" in err


def fragmented(tunnel: str, mtu: int = 1500) -> list[tuple[float, bytes]]:
    """The mirror of :func:`frames` and a full-size frame, over a path of ``mtu``: each outer datagram past it in
    fragments (a distinct IP id each), as the tunnel's sender cuts it."""
    full = b.udp((b.CAMERA_MAC, b.ROUTER_MAC, b.CAMERA_IP, b.WEB_IP, 40514, 514), b"<14>axis: " + b"x" * 1462)
    assert len(full) == 1514
    out = []
    for i, (ts, frame) in enumerate([*frames(), (1_700_000_002.0, full)]):
        ip = WRAPS[tunnel](i, frame)[IP]
        ip.id = 100 + i
        out += [(ts, bytes(SPAN / piece)) for piece in (fragment(ip, fragsize=mtu - 20) if len(ip) > mtu else [ip])]
    return out


@pytest.mark.parametrize("tunnel", sorted(WRAPS))
def test_a_mirror_fragmented_on_its_way_inventories_what_the_unfragmented_one_does(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, tunnel: str) -> None:
    whole = b.write_pcap(tmp_path / "whole.pcap", fragmented(tunnel, mtu=65535))
    pieces = fragmented(tunnel)
    assert len(pieces) == len(frames()) + 2  # the full-size frame went in two pieces
    cut = b.write_pcap(tmp_path / "cut.pcap", pieces)
    want, _ = analyze(capsys, whole, tmp_path / "whole.db")
    got, _ = analyze(capsys, cut, tmp_path / "cut.db")
    assert summary(got) == summary(want)
    assert f"mac:{b.CAMERA_MAC}" in [key for key, *_ in summary(got)]
    (stats,) = [f["stats"] for f in got["files"]]
    (base,) = [f["stats"] for f in want["files"]]
    assert stats["tunnels"] == base["tunnels"] == {tunnel: len(frames()) + 1}
    assert stats["decode_errors"] == base["decode_errors"]
    assert stats["packets"] == base["packets"] + 1
    assert got["totals"]["flows"] == want["totals"]["flows"]
