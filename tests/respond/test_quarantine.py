"""Quarantine: the rendered nftables table and set elements, the dry-run record, input checks, and (in
network namespaces the test creates and removes) a quarantined host that reaches only what its
quarantine allows until the action is undone.

Namespace addresses are RFC 5737-style private test nets (10.99.1.0/24, 10.99.2.0/24) that exist only
inside the test's own namespaces; nothing leaves them.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import ConfigError, PolicyError
from iotwarden.respond import quarantine
from iotwarden.respond.engine import ResponseEngine
from iotwarden.respond.playbook import DeviceFacts, parse_playbooks
from iotwarden.respond.quarantine import Allow, DryRunEnforcer, NftablesEnforcer, QuarantineTarget
from iotwarden.store import Store
from tests.respond.conftest import mirai_alert

CAMERA = QuarantineTarget("mac:44:47:cc:2b:10:03", "44:47:cc:2b:10:03", ("10.10.20.102", "2001:db8::102"))


def test_the_table_drops_everything_from_and_to_quarantined_addresses_after_the_exceptions() -> None:
    script = quarantine.render_table((Allow.parse("any udp/67"), Allow.parse("10.10.0.53 udp/53")))
    prefix = "add rule inet iotwarden_quarantine forward "
    rules = [line.removeprefix(prefix) for line in script.splitlines() if line.startswith(prefix)]
    assert rules == [
        "ip saddr @q_ip4 udp dport 67 accept", "ip daddr @q_ip4 udp sport 67 accept",
        "ip6 saddr @q_ip6 udp dport 67 accept", "ip6 daddr @q_ip6 udp sport 67 accept",
        "ether saddr @q_mac udp dport 67 accept",
        "ip saddr @q_ip4 ip daddr 10.10.0.53/32 udp dport 53 accept",
        "ip daddr @q_ip4 ip saddr 10.10.0.53/32 udp sport 53 accept",
        *(f'{m} counter drop comment "quarantine"' for m in (
            "ether saddr @q_mac", "ip saddr @q_ip4", "ip daddr @q_ip4", "ip6 saddr @q_ip6", "ip6 daddr @q_ip6")),
    ]
    assert "add chain inet iotwarden_quarantine input { type filter hook input priority -10; policy accept; }" in script
    assert script.count("flush chain") == 2  # re-applying replaces the rules, never duplicates them


def test_elements_carry_the_devices_mac_and_addresses_per_family() -> None:
    assert quarantine.render_elements(CAMERA, "add") == (
        "add element inet iotwarden_quarantine q_mac { 44:47:cc:2b:10:03 }\n"
        "add element inet iotwarden_quarantine q_ip4 { 10.10.20.102 }\n"
        "add element inet iotwarden_quarantine q_ip6 { 2001:db8::102 }\n")
    ip_only = QuarantineTarget("ip:10.0.0.5", None, ("10.0.0.5",))
    assert quarantine.render_elements(ip_only, "delete") == \
        "delete element inet iotwarden_quarantine q_ip4 { 10.0.0.5 }\n"


def test_the_dry_run_enforcer_records_and_changes_nothing() -> None:
    dry = DryRunEnforcer((Allow.parse("any udp/67"),))
    applied = dry.apply(CAMERA)
    released = dry.release(CAMERA)
    assert dry.applied == [applied, released]
    assert "add element inet iotwarden_quarantine q_mac { 44:47:cc:2b:10:03 }" in applied
    assert released.startswith("delete element")


def test_the_dry_run_record_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quarantine, "MAX_RECORDED", 3)
    dry = DryRunEnforcer()
    for _ in range(5):
        dry.apply(CAMERA)
    assert len(dry.applied) == 3


@pytest.mark.parametrize(("mac", "ips", "message"), [
    ("44:47:CC:2B:10:03", (), "not a MAC"),
    ("44:47:cc:2b:10:03; drop", (), "not a MAC"),
    (None, ("10.0.0.300",), "not an IP"),
    (None, ("10.0.0.1 } ; flush ruleset",), "not an IP"),
    (None, (), "no known MAC or IP"),
    (None, tuple(f"10.0.{i // 250}.{i % 250 + 1}" for i in range(quarantine.MAX_ADDRESSES + 1)), "more than 64"),
])
def test_targets_are_checked_before_anything_reaches_nft(mac: str | None, ips: tuple[str, ...], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        QuarantineTarget("mac:x", mac, ips)


@pytest.mark.parametrize("text", ["10.0.0.0/33", "any icmp/1", "any udp/0", "any udp/70000", "a b c", "", "any udp"])
def test_bad_allow_exceptions_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="quarantine allow"):
        Allow.parse(text)


def test_too_many_exceptions_are_refused() -> None:
    with pytest.raises(ConfigError, match="at most 64"):
        quarantine.render_table(tuple(Allow.parse(f"10.0.0.{i}") for i in range(quarantine.MAX_ALLOWS + 1)))


def test_nft_errors_become_policy_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(PolicyError, match="needs the nft command"):
        NftablesEnforcer().apply(CAMERA)


# --- a real quarantine in network namespaces ------------------------------------------------------------

_names = itertools.count()
CLIENT = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()"
SERVER = """
import socket, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", port)); s.listen()
    while True:
        c, _ = s.accept(); c.close()
for p in (8080, 8081):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
threading.Event().wait()
"""


@dataclass
class Net:
    router: str
    camera: str  # 10.99.1.2, routed through ``router`` to ``server``
    server: str  # 10.99.2.2, listening on tcp/8080 and tcp/8081
    camera_mac: str


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=20).stdout


def reaches(net: Net, port: int) -> bool:
    done = subprocess.run(["ip", "netns", "exec", net.camera, sys.executable, "-c", CLIENT, "10.99.2.2", str(port)],
                          capture_output=True, timeout=20, check=False)
    return done.returncode == 0


@pytest.fixture
def net() -> Iterator[Net]:
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("nft") is None:
        pytest.skip("the namespace quarantine test needs root, iproute2 and nftables")
    tag = f"iwq{os.getpid() % 100000}{next(_names)}"
    names = Net(f"{tag}r", f"{tag}c", f"{tag}s", "")
    spaces: list[str] = []
    server = None
    try:
        for ns in (names.router, names.camera, names.server):
            _ip("netns", "add", ns)
            spaces.append(ns)
        for host, side, net_prefix in ((names.camera, "c", "10.99.1"), (names.server, "s", "10.99.2")):
            _ip("link", "add", f"{tag}{side}0", "netns", names.router, "type", "veth", "peer", "name", f"{tag}{side}1",
                "netns", host)
            _ip("-n", names.router, "addr", "add", f"{net_prefix}.1/24", "dev", f"{tag}{side}0")
            _ip("-n", host, "addr", "add", f"{net_prefix}.2/24", "dev", f"{tag}{side}1")
            for ns, dev in ((names.router, f"{tag}{side}0"), (host, f"{tag}{side}1"), (host, "lo")):
                _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", host, "route", "add", "default", "via", f"{net_prefix}.1")
        subprocess.run(["ip", "netns", "exec", names.router, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True,
                       timeout=20)
        words = _ip("-n", names.camera, "-o", "link", "show", f"{tag}c1").split()
        names.camera_mac = words[words.index("link/ether") + 1]
        server = subprocess.Popen(["ip", "netns", "exec", names.server, sys.executable, "-c", SERVER])
        deadline = time.monotonic() + 10
        while not reaches(names, 8081) and time.monotonic() < deadline:
            time.sleep(0.1)
        yield names
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"cannot build the namespace lab here: {exc}")
    finally:
        if server is not None:
            server.kill()
            server.wait(timeout=10)
        for ns in spaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20, check=False)


@pytest.mark.netns
def test_a_quarantined_camera_reaches_only_its_exception_until_undone(net: Net, store: Store) -> None:
    assert reaches(net, 8080) and reaches(net, 8081)  # before: the camera reaches both services
    pb = parse_playbooks([{"name": "contain", "trigger": {"detector": "detect.scan.*"}, "actions": ["quarantine"]}])
    enforcer = NftablesEnforcer((Allow.parse("10.99.2.2/32 tcp/8080"),), netns=net.router)
    engine = ResponseEngine(store, pb, enforcer=enforcer)
    camera = DeviceFacts("mac:" + net.camera_mac, net.camera_mac, ("10.99.1.2",), "iot", "camera")
    [action] = engine.respond(mirai_alert(camera.key, "10.99.1.2"), camera)
    assert action.status == "done", action.result
    listed = _ip("netns", "exec", net.router, "nft", "list", "set", "inet", "iotwarden_quarantine", "q_ip4")
    assert "10.99.1.2" in listed
    assert reaches(net, 8080)  # what the quarantine allows
    assert not reaches(net, 8081)  # and nothing else
    engine.undo(action.id, actor="user:test")
    assert reaches(net, 8081)  # released: back to normal
    assert "10.99.1.2" not in _ip("netns", "exec", net.router, "nft", "list", "set", "inet",
                                  "iotwarden_quarantine", "q_ip4")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_no_allow_text_can_inject_into_the_ruleset(text: str) -> None:
    try:
        allow = Allow.parse(text)
    except ConfigError:
        return
    script = quarantine.render_table((allow,))
    assert all(line.startswith(("add ", "flush ")) and ";" not in line.split("{")[0] for line in script.splitlines())
    assert all("\n" not in rule and "}" not in rule for rule in allow.rules())
