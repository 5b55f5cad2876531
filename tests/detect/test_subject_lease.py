"""Alerts on a Zeek conn.log's records fall on the device the dhcp.log's lease names (detect/base.subject_key): a
conn.log names no MAC, and the inventory keys the address's host by the MAC its lease bound it to, so an alert named
``ip:<address>`` would be filed under a device the inventory does not have (issue #4)."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from pathlib import Path

import pytest

from iotwarden.cli.main import main
from iotwarden.detect.base import HANDOVER_S, _owner_at, device_with_ip, same_holder
from iotwarden.hooks import Context
from iotwarden.inventory.resolution import MAX_OWNER_MOVES, EndpointResolver
from iotwarden.model import Device, Flow
from tests.detect.labelled import write_conn_log
from tests.detect.runner import detect, tcp_flow

T0 = 1_700_000_000.0
SERVER = "10.20.0.1"
LEASES = {"scanner": ("10.20.0.7", "02:00:0a:14:00:07"), "bot": ("10.20.0.8", "02:00:0a:14:00:08"),
          "guesser": ("10.20.0.9", "02:00:0a:14:00:09")}
C2 = "203.0.113.50"


def _scan(src: str, rng: random.Random) -> list[Flow]:
    """A Telnet sweep at 20 probes a second, refused or unanswered, over the site and the internet."""
    out = []
    for k in range(300):
        dst = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" if k % 2 \
            else f"{rng.randint(11, 220)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        refused = rng.random() < 0.3
        out.append(tcp_flow(src, dst, 23, T0 + 4000.0 + k / 20, sport=30000 + k,
                            flags=(0x02, 0x14 if refused else 0), pkts=(1, int(refused))))
    return out


def _beacon(src: str, rng: random.Random) -> list[Flow]:
    """A check-in to the same C&C every minute (within 5%) for an hour: a few bytes each way."""
    return [tcp_flow(src, C2, 6667, T0 + 4000.0 + i * 60.0 * (1 + rng.uniform(-0.05, 0.05)), sport=45000 + i,
                     flags=(0x1B, 0x1B), payload=(120, 80), pkts=(5, 4)) for i in range(60)]


def _guesses(src: str) -> list[Flow]:
    """Twelve short SSH sessions to one server, 3 s apart (brute force seen without the payload)."""
    return [tcp_flow(src, SERVER, 22, T0 + 4000.0 + i * 3, sport=40000 + i, payload=(1500, 2000),
                     flags=(0x1B, 0x1B), pkts=(12, 10)) for i in range(12)]


def zeek_folder(folder: Path) -> Path:
    """conn.log (no MACs) of a scanner, a beaconing bot and an SSH guesser, and the dhcp.log (Zeek's DHCP::Info,
    JSON) of the leases that bound their addresses to their MACs before."""
    rng = random.Random(7)
    flows = _scan(LEASES["scanner"][0], rng) + _beacon(LEASES["bot"][0], rng) + \
        _guesses(LEASES["guesser"][0])
    write_conn_log(folder / "conn.log", sorted(flows, key=lambda f: f.first_seen))
    with (folder / "dhcp.log").open("w") as fh:
        for i, (ip, mac) in enumerate(LEASES.values()):
            fh.write(json.dumps({"ts": T0 - 20.0 + i, "uids": [f"CDhcp{i:013d}"], "client_addr": ip,
                                 "server_addr": SERVER, "mac": mac, "requested_addr": ip, "assigned_addr": ip,
                                 "lease_time": 86400.0, "msg_types": ["REQUEST", "ACK"], "duration": 0.004}) + "\n")
    return folder


EXPECTED = {"scanner": "detect.scan", "bot": "detect.c2.beaconing", "guesser": "detect.bruteforce.ssh"}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_an_alert_on_a_conn_log_record_falls_on_the_device_its_address_was_leased_to(tmp_path: Path,
                                                                                    who: str) -> None:
    """Before: subject ``ip:10.20.0.x``, a device the inventory never made (its host is ``mac:..``)."""
    ctx = detect([zeek_folder(tmp_path)])
    ip, mac = LEASES[who]
    assert f"mac:{mac}" in ctx.devices and f"ip:{ip}" not in ctx.devices
    found = {a.subject for a in ctx.alerts if a.id.startswith(EXPECTED[who]) and a.src_ip in (ip, None)}
    assert found == {f"mac:{mac}"}
    assert not [a for a in ctx.alerts if a.subject.startswith("ip:10.20.0.")]


def test_iotwarden_alerts_lists_them_on_the_leased_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``iotwarden analyze`` of the folder, then ``iotwarden alerts --device`` of each leased MAC device."""
    db = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["analyze", str(zeek_folder(tmp_path)), "--db", db, "-f", "json"]) == 0
    capsys.readouterr()
    assert main(["devices", "--db", db, "-f", "json"]) == 0
    devices = {d["key"] for d in json.loads(capsys.readouterr()[0])["devices"]}
    for who, (ip, mac) in LEASES.items():
        assert f"mac:{mac}" in devices and f"ip:{ip}" not in devices
        assert main(["alerts", "list", "--db", db, "--device", f"mac:{mac}", "-f", "json"]) == 0
        ids = [a["id"] for a in json.loads(capsys.readouterr()[0])["alerts"]]
        assert any(i.startswith(EXPECTED[who]) for i in ids), (who, ids)


def _lease(folder: Path, ip: str, mac: str, ts: float, flows: list[Flow]) -> Path:
    folder.mkdir()
    write_conn_log(folder / "conn.log", flows)
    (folder / "dhcp.log").write_text(json.dumps({
        "ts": ts, "uids": ["CDhcp0000000000001"], "client_addr": ip, "server_addr": SERVER, "mac": mac,
        "requested_addr": ip, "assigned_addr": ip, "lease_time": 3600.0, "msg_types": ["REQUEST", "ACK"],
        "duration": 0.004}) + "\n")
    return folder


def test_an_address_leased_to_another_device_since_is_that_devices(tmp_path: Path) -> None:
    """The guesser's address leased to one device, a day later to another (both still list it): each burst of
    guesses falls on the device holding the lease then (the inventory's DHCP proof, Context.owners), not on the first
    device found holding the address. Two folders, read one after the other (within one reader batch the inventory
    has read the batch's dhcp.log records before its flows are judged)."""
    ip, first, second = "10.20.0.9", "02:00:0a:14:00:0a", "02:00:0a:14:00:0b"
    day1 = _lease(tmp_path / "day1", ip, first, T0 - 20.0, _guesses(ip))
    day2 = _lease(tmp_path / "day2", ip, second, T0 + 86400.0 - 20.0,
                  [replace(f, first_seen=f.first_seen + 86400.0, last_seen=f.last_seen + 86400.0)
                   for f in _guesses(ip)])
    ctx = detect([day1, day2])
    assert {ip} <= ctx.devices[f"mac:{first}"].ips & ctx.devices[f"mac:{second}"].ips
    found = sorted((a.first_seen - T0, a.subject) for a in ctx.alerts if a.id == "detect.bruteforce.ssh")
    assert [subject for _, subject in found] == [f"mac:{first}", f"mac:{second}"]


def test_a_lease_moving_within_one_batch_names_each_flow_by_the_holder_at_its_time(tmp_path: Path) -> None:
    """One folder, so one reader batch: the address leased to one device, released by it, leased to another,
    with a burst of guesses from the address before the move and one after. Before: both bursts fell on the
    second device (Context.owners held the holder at the batch's end when its flows were judged)."""
    ip, first, second = "10.20.0.9", "02:00:0a:14:00:0a", "02:00:0a:14:00:0b"
    moved = T0 + 5000.0
    folder = tmp_path / "zeek"
    folder.mkdir()
    later = [replace(f, first_seen=f.first_seen + 5000.0, last_seen=f.last_seen + 5000.0) for f in _guesses(ip)]
    write_conn_log(folder / "conn.log", _guesses(ip) + later)
    records = [(T0 - 20.0, first, ["REQUEST", "ACK"]), (moved - 10.0, first, ["RELEASE"]),
               (moved, second, ["REQUEST", "ACK"])]
    with (folder / "dhcp.log").open("w") as fh:
        for i, (ts, mac, types) in enumerate(records):
            fh.write(json.dumps({"ts": ts, "uids": [f"CDhcp{i:013d}"], "client_addr": ip, "server_addr": SERVER,
                                 "mac": mac, "requested_addr": ip, "assigned_addr": ip, "lease_time": 3600.0,
                                 "msg_types": types, "duration": 0.004}) + "\n")
    ctx = detect([folder])
    found = sorted((a.first_seen - T0, a.subject) for a in ctx.alerts if a.id == "detect.bruteforce.ssh")
    assert [subject for _, subject in found] == [f"mac:{first}", f"mac:{second}"]


def test_a_peer_address_whose_lease_moved_is_named_by_its_holder_at_the_records_time(tmp_path: Path) -> None:
    """device_with_ip (lateral's peer of a record naming no MAC), untagged: before, the first device listing the
    address whatever the time (both devices list it after the move); now the lease's holder then."""
    ip, first, second = "10.20.0.9", "02:00:0a:14:00:0a", "02:00:0a:14:00:0b"
    folder = tmp_path / "zeek"
    folder.mkdir()
    write_conn_log(folder / "conn.log", _guesses(ip))
    with (folder / "dhcp.log").open("w") as fh:
        for i, (ts, mac) in enumerate(((T0 - 20.0, second), (T0 + 5000.0, first))):
            fh.write(json.dumps({"ts": ts, "uids": [f"CDhcp{i:013d}"], "client_addr": ip, "server_addr": SERVER,
                                 "mac": mac, "requested_addr": ip, "assigned_addr": ip, "lease_time": 3600.0,
                                 "msg_types": ["REQUEST", "ACK"], "duration": 0.004}) + "\n")
    ctx = detect([folder])
    assert {ip} <= ctx.devices[f"mac:{first}"].ips & ctx.devices[f"mac:{second}"].ips
    assert device_with_ip(ctx, ip, "", T0) == f"mac:{second}"
    assert device_with_ip(ctx, ip, "", T0 + 6000.0) == f"mac:{first}"
    assert device_with_ip(ctx, ip, "") == f"mac:{first}"  # no time: the last proof's holder


def test_the_holders_of_an_address_are_kept_in_time_order_up_to_their_limit() -> None:
    """A lease passed along twenty devices, one proof a minute, the last proof read late: each time is named by its
    holder then; past MAX_OWNER_MOVES the oldest holders go, and the oldest kept holds the address before it."""
    ctx, resolver, ip = Context(), EndpointResolver(), "10.20.0.9"
    macs = [f"02:00:0a:14:01:{i:02x}" for i in range(20)]
    for i in (*range(18), 19, 18):  # the proof at 18 min read after the one at 19
        resolver._bind(ctx, ip, macs[i], T0 + 60.0 * i)
    moves = ctx.owner_moves[ip]
    assert len(moves) == MAX_OWNER_MOVES and [t for t, _ in moves] == sorted(t for t, _ in moves)
    assert moves[0] == (-math.inf, f"mac:{macs[20 - MAX_OWNER_MOVES]}")
    assert ctx.owners[ip] == f"mac:{macs[19]}"  # the latest proof, not the last read
    for i in range(20 - MAX_OWNER_MOVES, 20):
        assert _owner_at(moves, T0 + 60.0 * i + 30.0) == f"mac:{macs[i]}"
    assert _owner_at(moves, T0 - 1.0) == f"mac:{macs[20 - MAX_OWNER_MOVES]}"


A, B, HELD = "02:00:0a:14:00:0a", "02:00:0a:14:00:0b", "10.20.0.9"


def _two_holders(proofs: tuple[tuple[float, str], ...]) -> Context:
    """The devices of ``A`` and ``B`` on one address, then ARP/DHCP proofs of its holder in the order given."""
    ctx, resolver = Context(), EndpointResolver()
    for mac in (A, B):
        resolver._endpoint(ctx, mac, HELD, T0)
    for ts, mac in proofs:
        resolver._bind(ctx, HELD, mac, T0 + ts)
    return ctx



def test_a_proof_read_late_does_not_take_the_address_from_its_later_holder() -> None:
    """A proves the address at 0, B at 100 and again at 300, then A's proof at 200 is read late (a Zeek folder's
    files out of order). Before: B's proof at 300 was not kept, so A held the address from 200 on, now included."""
    ctx = _two_holders(((0.0, A), (100.0, B), (300.0, B), (200.0, A)))
    named = {t: device_with_ip(ctx, HELD, "", T0 + t) for t in (50.0, 150.0, 250.0, 300.0, 400.0)}
    assert named == {50.0: f"mac:{A}", 150.0: f"mac:{B}", 250.0: f"mac:{A}", 300.0: f"mac:{B}", 400.0: f"mac:{B}"}
    assert ctx.owners[HELD] == f"mac:{B}"
    assert device_with_ip(ctx, HELD, "") == f"mac:{B}"


def test_a_caller_without_a_time_gets_the_latest_proofs_holder_not_the_last_read() -> None:
    """B proves the address at 100, then A's older proof at 0 is read: before, A was its holder for a caller passing
    no time (Context.owners held the proof read last), and at every time after 0."""
    ctx = _two_holders(((100.0, B), (0.0, A)))
    assert ctx.owners[HELD] == f"mac:{B}"
    assert device_with_ip(ctx, HELD, "") == f"mac:{B}"
    assert device_with_ip(ctx, HELD, "", T0 + 50.0) == f"mac:{A}"
    assert device_with_ip(ctx, HELD, "", T0 + 150.0) == f"mac:{B}"


def test_a_series_goes_on_for_the_same_device_a_folded_key_or_a_device_taking_the_address_over_within_handover_s(
) -> None:
    """detect/base.same_holder, shared by kerberos_abuse, rdp_bruteforce and sip_recon: another device still in the
    inventory continues the address's series only when it took the address over within handover_s of the series'
    latest record (a MAC changed every few tries); after a longer gap (a lease that moved) its series is its own."""
    old, new = "mac:02:00:00:00:00:01", "mac:02:00:00:00:00:02"
    ctx = Context(devices={key: Device(key=key, first_seen=T0, last_seen=T0) for key in (old, new)})
    assert same_holder(ctx, old, old) and same_holder(ctx, "ip:10.0.0.9", new)  # the same, a key folded into it
    assert not same_holder(ctx, old, new) and not same_holder(ctx, old, new, 310.0, HANDOVER_S)
    assert same_holder(ctx, old, new, 3.0, HANDOVER_S) and same_holder(ctx, old, new, 299.9, HANDOVER_S)
    assert not same_holder(ctx, old, new, 300.0, HANDOVER_S) and HANDOVER_S == 300.0
