"""risk.knx.duplicate_address: two KNX IP devices of one installation announcing one individual address in their
SEARCH responses are a finding on each (low at the factory default 15.15.255, medium in programming mode; medium for a
commissioned address, high once a memory write went to it); one announcer per address, a device re-addressed by ETS,
or the same address in two installations is not."""

from __future__ import annotations

from pathlib import Path

from iotwarden.inventory.knx import MAX_ANNOUNCERS
from iotwarden.lab.wire import Frame, Host
from iotwarden.model import Observation
from iotwarden.model.finding import Finding
from iotwarden.risk.checks.knx_duplicate_address import KnxDuplicateAddress
from iotwarden.risk.subjects import SubjectIndex
from tests.dissect import knxbuild as k
from tests.risk.harness import analyse, found, write_pcap
from tests.risk.test_subjects import tagged

ID = "risk.knx.duplicate_address"
DEFAULT, COMMISSIONED = 0xFFFF, 0x110A  # 15.15.255 and 1.1.10
IFACE_A = Host("00:24:6d:01:02:0a", "192.168.1.21")  # two KNX IP interfaces, just unpacked or copied in ETS
IFACE_B = Host("00:24:6d:01:02:0b", "192.168.1.22")


def _answer(t: float, host: Host, address: int, *, programming: bool = False, project: int = 0x0011,
            routing: bool = True) -> Frame:
    """``host``'s SEARCH_RESPONSE to ETS announcing ``address`` in its DEVICE_INFO DIB (KNX 03.08.02 §7.5.4.2), and
    the routing family (a KNX IP router of the multicast group) unless ``routing`` is False (an interface)."""
    dib = k.device_info(b"KNX IP Interface", address=address, mac=bytes.fromhex(host.mac.replace(":", "")),
                        programming=programming, project=project)
    families = k.UNSECURED if routing else k.families((0x02, 2), (0x03, 2), (0x04, 2))
    return k.datagram(t, host, k.ETS, k.search_response(dib + families, ip=host.ip), dport=50000)


def _findings(tmp_path: Path, frames: list[Frame]) -> dict[str, Finding]:
    ctx, _ = analyse(write_pcap(tmp_path / "knx.pcap", k.site(group_writes=1) + frames))
    return found(ctx, ID)


def test_two_devices_at_the_factory_default_are_a_low_finding_on_each(tmp_path: Path) -> None:
    findings = _findings(tmp_path, [_answer(k.T0 + 20, IFACE_A, DEFAULT), _answer(k.T0 + 20.01, IFACE_B, DEFAULT),
                                    _answer(k.T0 + 80, IFACE_A, DEFAULT)])
    assert set(findings) == {f"mac:{IFACE_A.mac}", f"mac:{IFACE_B.mac}"}  # never the router at 1.1.0
    a, b = findings[f"mac:{IFACE_A.mac}"], findings[f"mac:{IFACE_B.mac}"]
    assert a.severity == b.severity == "low"
    assert a.evidence["address"] == ["15.15.255"] and a.evidence["installation"] == ["0x0011"]
    assert a.evidence["shared_with"] == [IFACE_B.ip] and b.evidence["shared_with"] == [IFACE_A.ip]
    assert a.evidence["reasons"] == ["factory default 15.15.255: 2 devices not commissioned"]
    assert (a.first_seen, a.last_seen) == (k.T0 + 20, k.T0 + 80)
    assert "NISTIR 8259A: Device Identification" in a.references


def test_the_factory_default_in_programming_mode_is_medium(tmp_path: Path) -> None:
    findings = _findings(tmp_path, [_answer(k.T0 + 20, IFACE_A, DEFAULT),
                                    _answer(k.T0 + 21, IFACE_B, DEFAULT, programming=True)])
    assert {f.severity for f in findings.values()} == {"medium"} and len(findings) == 2
    assert any("programming mode" in r for r in findings[f"mac:{IFACE_A.mac}"].evidence["reasons"])


def test_a_commissioned_address_on_two_devices_is_medium_and_high_once_written(tmp_path: Path) -> None:
    shared = [_answer(k.T0 + 20, IFACE_A, COMMISSIONED), _answer(k.T0 + 21, IFACE_B, COMMISSIONED)]
    findings = _findings(tmp_path, shared)
    assert {f.severity for f in findings.values()} == {"medium"} and len(findings) == 2
    assert findings[f"mac:{IFACE_B.mac}"].evidence["reasons"] == ["commissioned address held by 2 devices"]
    write = k.l_data(0x283, b"\x40\x00\x01\x02\x03", code=k.L_DATA_IND, dst=COMMISSIONED)  # A_Memory_Write
    findings = _findings(tmp_path, [*shared, k.datagram(k.T0 + 30, k.ETS, None, k.routing(write))])
    assert {f.severity for f in findings.values()} == {"high"} and len(findings) == 2
    assert findings[f"mac:{IFACE_A.mac}"].evidence["address"] == ["1.1.10"]


def test_one_announcer_per_address_makes_no_finding(tmp_path: Path) -> None:
    assert _findings(tmp_path, [_answer(k.T0 + 20, IFACE_A, 0x1101), _answer(k.T0 + 21, IFACE_B, COMMISSIONED),
                                _answer(k.T0 + 22, IFACE_A, 0x1101)]) == {}


def test_a_device_re_addressed_by_ets_leaves_its_old_address(tmp_path: Path) -> None:
    """Both at 15.15.255, then ETS programs B to 1.1.10: A alone holds the default, no finding."""
    assert _findings(tmp_path, [_answer(k.T0 + 20, IFACE_A, DEFAULT), _answer(k.T0 + 21, IFACE_B, DEFAULT),
                                _answer(k.T0 + 60, IFACE_B, COMMISSIONED)]) == {}


def test_one_address_in_two_installations_makes_no_finding(tmp_path: Path) -> None:
    """Two ETS projects on one LAN (two apartments) may both use 1.1.10: uniqueness is per installation."""
    assert _findings(tmp_path, [_answer(k.T0 + 20, IFACE_A, COMMISSIONED, project=0x0011),
                                _answer(k.T0 + 21, IFACE_B, COMMISSIONED, project=0x0012)]) == {}


# --- a write belongs to one installation ------------------------------------------------------------------------
PROJECT_A, PROJECT_B = 0x0011, 0x0012  # two ETS projects on one LAN (two apartments), both using 1.1.10
IFACE_C = Host("00:24:6d:01:02:0c", "192.168.1.23")  # B's duplicate pair: IFACE_C and IFACE_D
IFACE_D = Host("00:24:6d:01:02:0d", "192.168.1.24")
TUNNEL_A = Host("00:24:6d:01:02:1a", "192.168.1.31")  # A's tunnelling interface (1.1.1) and B's (1.1.1 too)
TUNNEL_B = Host("00:24:6d:01:02:1b", "192.168.1.32")
MEMORY_WRITE = k.l_data(0x283, b"\x40\x00\x01\x02\x03", dst=COMMISSIONED)  # A_Memory_Write, L_Data.req


def _two_installations(t: float) -> list[Frame]:
    """1.1.10 held twice in installation A (IFACE_A, IFACE_B) and twice in B (IFACE_C, IFACE_D); each installation's
    tunnelling interface at 1.1.1; none of B's routes (the multicast group's routers are all A's)."""
    return [_answer(t, IFACE_A, COMMISSIONED, project=PROJECT_A),
            _answer(t + 1, IFACE_B, COMMISSIONED, project=PROJECT_A),
            _answer(t + 2, IFACE_C, COMMISSIONED, project=PROJECT_B, routing=False),
            _answer(t + 3, IFACE_D, COMMISSIONED, project=PROJECT_B, routing=False),
            _answer(t + 4, TUNNEL_A, 0x1101, project=PROJECT_A),
            _answer(t + 5, TUNNEL_B, 0x1101, project=PROJECT_B, routing=False)]


def _severities(findings: dict[str, Finding]) -> dict[str, str]:
    return {key.removeprefix("mac:"): f.severity for key, f in findings.items()}


def test_a_write_tunnelled_in_one_installation_raises_its_duplicate_not_anothers(tmp_path: Path) -> None:
    """ETS tunnels an A_Memory_Write to 1.1.10 through A's interface: A's two holders are high, B's stay medium."""
    write = k.datagram(k.T0 + 40, k.ETS, TUNNEL_A, k.tunnelling(MEMORY_WRITE, channel=8), sport=50002)
    findings = _findings(tmp_path, [*_two_installations(k.T0 + 20), write])
    assert _severities(findings) == {IFACE_A.mac: "high", IFACE_B.mac: "high", IFACE_C.mac: "medium",
                                     IFACE_D.mac: "medium"}
    assert findings[f"mac:{IFACE_A.mac}"].evidence["installation"] == ["0x0011"]
    assert findings[f"mac:{IFACE_C.mac}"].evidence["installation"] == ["0x0012"]
    (tmp_path / "b").mkdir()
    write = k.datagram(k.T0 + 40, k.ETS, TUNNEL_B, k.tunnelling(MEMORY_WRITE, channel=8), sport=50002)
    assert _severities(_findings(tmp_path / "b", [*_two_installations(k.T0 + 20), write])) == {
        IFACE_A.mac: "medium", IFACE_B.mac: "medium", IFACE_C.mac: "high", IFACE_D.mac: "high"}


def test_a_write_whose_installation_is_not_known_raises_none(tmp_path: Path) -> None:
    """Tunnelled to an interface that never announced itself, or routed by an unannounced sender to a group whose
    routers belong to two installations: no installation's duplicate is raised (the conservative choice)."""
    stranger = Host("02:00:00:00:00:77", "192.168.1.77")
    tunnelled = k.datagram(k.T0 + 40, k.ETS, stranger, k.tunnelling(MEMORY_WRITE, channel=8), sport=50002)
    routed = k.datagram(k.T0 + 41, k.ETS, None, k.routing(k.l_data(0x283, b"\x40\x00\x01\x02\x03",
                                                                     code=k.L_DATA_IND, dst=COMMISSIONED)))
    router_b = Host("00:24:6d:01:02:1c", "192.168.1.25")  # B's KNX IP router, in the site router's group
    announced = k.datagram(k.T0 + 30, router_b, k.ETS, k.search_response(
        k.device_info(address=0x1200, project=PROJECT_B) + k.UNSECURED, ip=router_b.ip), dport=50000)
    frames = [*_two_installations(k.T0 + 20), announced, tunnelled, routed]
    assert set(_severities(_findings(tmp_path, frames)).values()) == {"medium"}


def test_a_write_routed_by_the_installations_router_raises_its_duplicate(tmp_path: Path) -> None:
    """ETS routing to 224.0.23.12: the group's one router (the site's, installation A) takes it to A's bus."""
    routed = k.datagram(k.T0 + 40, k.ETS, None, k.routing(k.l_data(0x283, b"\x40\x00\x01\x02\x03",
                                                                     code=k.L_DATA_IND, dst=COMMISSIONED)))
    assert _severities(_findings(tmp_path, [*_two_installations(k.T0 + 20), routed])) == {
        IFACE_A.mac: "high", IFACE_B.mac: "high", IFACE_C.mac: "medium", IFACE_D.mac: "medium"}


# --- a write before its carrier announced itself (a capture starting after ETS's search) ---------------------------
def _connect(t: float, server: Host, *, data: str | None = None, tunnel_address: int = 0x1101) -> list[Frame]:
    """ETS's CONNECT_REQUEST for a tunnel (03.08.02 §7.8.1, CRI tunnelling at the link layer) and ``server``'s
    CONNECT_RESPONSE: channel 8, E_NO_ERROR, its data endpoint HPAI (``data``, else its own address) and the CRD
    assigning the tunnel ``tunnel_address`` (03.08.04 §4.4.4)."""
    request = k.knxip(k.CONNECT_REQUEST, k.hpai(k.ETS.ip, 50002) + k.hpai(k.ETS.ip, 50002) + bytes([4, 4, 2, 0]))
    crd = bytes([4, 4]) + tunnel_address.to_bytes(2, "big")
    response = k.knxip(k.CONNECT_RESPONSE, bytes([8, 0]) + k.hpai(data or server.ip) + crd)
    return [k.datagram(t, k.ETS, server, request, sport=50002),
            k.datagram(t + 0.01, server, k.ETS, response, dport=50002)]


def _described(t: float, host: Host, project: int) -> Frame:
    """``host``'s DESCRIPTION_RESPONSE (03.08.02 §7.7.2): its DEVICE_INFO (1.1.1 of ``project``), no HPAI."""
    dibs = k.device_info(b"KNX IP Interface", address=0x1101, project=project,
                         mac=bytes.fromhex(host.mac.replace(":", ""))) + k.families((0x02, 2), (0x04, 2))
    return k.datagram(t, host, k.ETS, k.knxip(k.DESCRIPTION_RESPONSE, dibs), dport=50002)


def _holders(t: float) -> list[Frame]:
    """_two_installations without the tunnelling interfaces' own answers (the search came before the capture)."""
    return _two_installations(t)[:4]


def test_a_write_before_its_interface_answered_is_placed_by_the_interfaces_later_answer(tmp_path: Path) -> None:
    """The capture starts after ETS's search: ETS connects to A's interface and writes; the interface's
    DESCRIPTION_RESPONSE (or SEARCH_RESPONSE) afterwards names its installation, A: A's holders are high, B's not.
    Before, the write was placed in no installation (all medium)."""
    write = k.datagram(k.T0 + 11, k.ETS, TUNNEL_A, k.tunnelling(MEMORY_WRITE, channel=8), sport=50002)
    for i, answer in enumerate([_described(k.T0 + 30, TUNNEL_A, PROJECT_A),
                                _answer(k.T0 + 30, TUNNEL_A, 0x1101, project=PROJECT_A)]):
        (tmp_path / str(i)).mkdir()
        frames = [*_connect(k.T0 + 10, TUNNEL_A), write, *_holders(k.T0 + 20), answer]
        assert _severities(_findings(tmp_path / str(i), frames)) == {
            IFACE_A.mac: "high", IFACE_B.mac: "high", IFACE_C.mac: "medium", IFACE_D.mac: "medium"}
    # B's interface answering names B: B's holders, not A's
    write_b = k.datagram(k.T0 + 11, k.ETS, TUNNEL_B, k.tunnelling(MEMORY_WRITE, channel=8), sport=50002)
    frames = [*_connect(k.T0 + 10, TUNNEL_B), write_b, *_holders(k.T0 + 20), _described(k.T0 + 30, TUNNEL_B,
                                                                                          PROJECT_B)]
    assert _severities(_findings(tmp_path, frames)) == {
        IFACE_A.mac: "medium", IFACE_B.mac: "medium", IFACE_C.mac: "high", IFACE_D.mac: "high"}


def test_a_write_to_the_data_endpoint_the_connect_response_named_is_its_servers(tmp_path: Path) -> None:
    """A's interface answers CONNECT from 192.168.1.31 and names its data endpoint at 192.168.1.41 (03.08.02
    §7.8.2): the write tunnelled there is A's interface's, placed in A. Before: an unannounced receiver, none."""
    endpoint = Host("00:24:6d:01:02:1a", "192.168.1.41")
    write = k.datagram(k.T0 + 31, k.ETS, endpoint, k.tunnelling(MEMORY_WRITE, channel=8), sport=50002)
    frames = [*_two_installations(k.T0 + 20), *_connect(k.T0 + 30, TUNNEL_A, data=endpoint.ip), write]
    assert _severities(_findings(tmp_path, frames)) == {
        IFACE_A.mac: "high", IFACE_B.mac: "high", IFACE_C.mac: "medium", IFACE_D.mac: "medium"}


def test_a_write_nothing_places_stays_in_no_installation(tmp_path: Path) -> None:
    """Tunnelled to an interface that never answers: its CRD assigns the tunnel 1.1.1 and the telegram's source is
    1.1.1, which A's interface announced, but an individual address names a device of a line any installation may
    number alike (B's interface is 1.1.1 too): no installation's duplicate is raised. Another device answering
    afterwards does not place it either."""
    stranger = Host("02:00:00:00:00:77", "192.168.1.77")
    write = k.datagram(k.T0 + 31, k.ETS, stranger, k.tunnelling(
        k.l_data(0x283, b"\x40\x00\x01\x02\x03", src=0x1101, dst=COMMISSIONED), channel=8), sport=50002)
    frames = [*_two_installations(k.T0 + 20), *_connect(k.T0 + 30, stranger), write,
              _described(k.T0 + 40, TUNNEL_A, PROJECT_A)]
    assert set(_severities(_findings(tmp_path, frames)).values()) == {"medium"}


def test_writes_waiting_and_data_endpoints_are_bounded() -> None:
    check = KnxDuplicateAddress(limit=2, written=2)
    for i in range(3):
        check.on_observation(None, Observation(  # type: ignore[arg-type]
            ts=1.0 + i, proto="knxip", kind="connect_response", src_ip=f"10.0.0.{i}", dst_ip="10.0.9.9",
            fields={"status": "E_NO_ERROR", "data_endpoint": f"10.0.1.{i}:3671"}))
        check.on_observation(None, Observation(  # type: ignore[arg-type]
            ts=1.0 + i, proto="knxip", kind="tunnelling_request", src_ip="10.0.9.9", dst_ip=f"10.0.1.{i}",
            fields={"destination": "1.1.10", "destination_type": "individual", "ot_operation": "program"}))
    assert list(check._server_of) == ["10.0.1.1", "10.0.1.2"]
    assert {carrier: list(w) for carrier, w in check._waiting.items()} == {"10.0.0.1": ["1.1.10"],
                                                                           "10.0.0.2": ["1.1.10"]}
    check.on_observation(None, _obs(0, "1.1.5", ts=5.0))  # 10.0.0.0 answers: its write was dropped, nothing placed
    check.on_observation(None, _obs(2, "1.1.6", ts=5.0))  # 10.0.0.2 answers: its write placed in its installation
    assert list(check._written) == [(0x11, "1.1.10")]
    assert list(check._waiting) == ["10.0.0.1"] and check._waiting_count == 1


def _obs(i: int, address: str, ts: float = 1.0) -> Observation:
    return Observation(ts=ts, proto="knxip", kind="search_response", src_ip=f"10.0.{i // 256}.{i % 256}",
                       fields={"individual_address": address, "project_installation_id": 0x11})


def test_announcers_per_address_are_bounded() -> None:
    check = KnxDuplicateAddress()
    for i in range(MAX_ANNOUNCERS + 2):
        check.on_observation(None, _obs(i, "1.1.10"))  # type: ignore[arg-type]
    assert check.dropped == 2
    (holders,) = check._places.values()
    assert len(holders) == MAX_ANNOUNCERS and ("10.0.0.0" not in {ip for _mac, ip in holders})


def test_addresses_and_devices_are_bounded() -> None:
    check = KnxDuplicateAddress(limit=3, written=2)
    for i in range(5):
        check.on_observation(None, _obs(i, f"1.1.{i}"))  # type: ignore[arg-type]
    assert [address for _project, address in check._places] == ["1.1.2", "1.1.3", "1.1.4"]
    assert len(check._place_of) == 3
    for address in ("1.1.1", "1.1.2", "1.1.3"):
        check.on_observation(None, Observation(  # type: ignore[arg-type]
            ts=2.0, proto="knxip", kind="routing_indication", src_ip="10.0.0.4", dst_ip=k.MULTICAST_IP,
            fields={"destination": address, "destination_type": "individual", "ot_operation": "program"}))
    assert list(check._written) == [(0x11, "1.1.2"), (0x11, "1.1.3")]  # routed by 1.1.4, of installation 0x11
    assert len(check._installation_of) == 3


def test_the_findings_pass_is_pure(tmp_path: Path) -> None:
    frames = [_answer(k.T0 + 20, IFACE_A, DEFAULT), _answer(k.T0 + 21, IFACE_B, DEFAULT)]
    ctx, risk = analyse(write_pcap(tmp_path / "knx.pcap", k.site(group_writes=1) + frames))
    check = next(c for c in risk.checks if c.id == ID)
    again = check.findings(ctx, SubjectIndex(ctx.devices))
    assert [(f.subject, f.evidence) for f in again] == [(f.subject, f.evidence) for f in found(ctx, ID).values()]
    assert len(again) == 2


def test_on_a_vlan_a_write_tunnelled_in_one_installation_raises_its_duplicate(tmp_path: Path) -> None:
    """The same site on VLAN 10 (a trunk mirror): the announcers' endpoints (risk/subjects.endpoint_of) and the
    carriers are zoned alike, and the write still finds its installation: A's holders high, B's medium."""
    write = k.datagram(k.T0 + 40, k.ETS, TUNNEL_A, k.tunnelling(MEMORY_WRITE, channel=8), sport=50002)
    ctx, _ = analyse(write_pcap(tmp_path / "knx.pcap", tagged([*k.site(group_writes=1), *_two_installations(k.T0 + 20),
                                                                 write], 10)))
    assert _severities(found(ctx, ID)) == {IFACE_A.mac: "high", IFACE_B.mac: "high", IFACE_C.mac: "medium",
                                           IFACE_D.mac: "medium"}


def test_two_vlans_copies_of_one_installation_are_two(tmp_path: Path) -> None:
    """A trunk mirror of two VLANs' copies of one ETS project (one installation identifier, the same IP and individual
    addresses, other MACs): VLAN 10 holds 1.1.10 twice, VLAN 20 once, and ETS writes to 1.1.10 through VLAN 20's
    interface at A's tunnel IP. VLAN 10's pair is its own duplicate, unwritten (medium); VLAN 20's holder has none."""
    copy_a, copy_tunnel = Host("00:24:6d:02:02:0a", IFACE_A.ip), Host("00:24:6d:02:02:1a", TUNNEL_A.ip)
    vlan10 = [_answer(k.T0 + 20, IFACE_A, COMMISSIONED), _answer(k.T0 + 21, IFACE_B, COMMISSIONED),
              _answer(k.T0 + 22, TUNNEL_A, 0x1101)]
    write = k.datagram(k.T0 + 40, k.ETS, copy_tunnel, k.tunnelling(MEMORY_WRITE, channel=8), sport=50002)
    vlan20 = [_answer(k.T0 + 30, copy_a, COMMISSIONED), _answer(k.T0 + 31, copy_tunnel, 0x1101), write]
    frames = tagged([*k.site(group_writes=1), *vlan10], 10) + tagged(vlan20, 20)
    ctx, _ = analyse(write_pcap(tmp_path / "knx.pcap", frames))
    findings = found(ctx, ID)
    assert _severities(findings) == {IFACE_A.mac: "medium", IFACE_B.mac: "medium"}
    assert findings[f"mac:{IFACE_A.mac}"].evidence["address"] == ["1.1.10"]
    assert findings[f"mac:{IFACE_A.mac}"].evidence["shared_with"] == [f"{IFACE_B.ip}%vlan10"]
