"""The rendered nftables ruleset: its structure, and the done-when proof in network namespaces: a router
namespace with veth links to camera, server and PLC hosts loads the ruleset; real TCP and UDP
connections show allowed flows pass, denied ones drop, and a quarantined device reaches only DNS."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from iotwarden.errors import PolicyError
from iotwarden.policy.match import resolve
from iotwarden.policy.model import Policy, Rule, Service
from iotwarden.policy.nftables import apply, render
from iotwarden.policy.quarantine import QUARANTINE, quarantine

CAM, SRV, PLC = "192.0.2.10", "198.51.100.10", "203.0.113.10"
POLICY = Policy.from_dict({
    "name": "lab", "default": "deny", "site_networks": ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"],
    "services": {"dns": [{"proto": "udp", "port": 53}]},
    "zones": [{"name": "cameras", "devices": [CAM]}, {"name": "servers", "devices": [SRV]},
              {"name": "plant", "categories": ["ot"], "subnets": ["203.0.113.0/24"]}],
    "rules": [
        {"name": "cam_mqtt", "from": "cameras", "to": "servers", "services": [{"proto": "tcp", "port": 8883}],
         "action": "allow"},
        {"name": "cam_dns", "from": "cameras", "to": "servers", "services": ["dns"], "action": "allow"},
        {"name": "scada_poll", "from": "servers", "to": "plant", "services": [{"proto": "tcp", "port": 502}],
         "action": "log"},
    ],
})
Q_DNS = Rule(name="q_dns", src=QUARANTINE, dst="servers", action="allow", services=[Service("udp", ["53"])])
TIMEOUT_S = 1.0  # a connection not answered in this long is dropped


def test_render_has_sets_maps_zone_chains_counters_and_log_prefixes() -> None:
    text = render(POLICY, resolve(POLICY, []))
    assert "table inet iotwarden {" in text and "type filter hook forward priority filter; policy drop;" in text
    assert "set z_cameras_v4 { type ipv4_addr; flags interval; auto-merge; elements = { 192.0.2.10 }; }" in text
    assert "set z_cameras_mac { type ether_addr; }" in text
    assert f"map zone_v4 {{ type ipv4_addr : verdict; elements = {{ {CAM} : jump from_cameras, " in text
    assert "ip saddr @z_plant_v4 jump from_plant" in text  # subnets after the host map
    assert "ct state established,related counter accept" in text
    assert 'meta l4proto tcp th dport { 502 } counter log prefix "iotwarden scada_poll " accept' in text
    assert 'counter log prefix "iotwarden plant.default " accept comment "plant.default"' in text  # OT: log
    assert 'counter drop comment "cameras.default"' in text
    isolated = render(quarantine(POLICY, [CAM], [Q_DNS]), resolve(quarantine(POLICY, [CAM], [Q_DNS]), []))
    assert 'ip daddr @z_quarantine_v4 counter drop comment "quarantine.isolated"' in isolated
    assert f"{CAM} : jump from_quarantine" in isolated


def test_apply_refuses_the_hosts_own_namespace_without_confirmation() -> None:
    with pytest.raises(PolicyError, match="without confirmation"):
        apply("", netns=None)


SERVER = """
import selectors, socket, sys
sel = selectors.DefaultSelector()
for spec in sys.argv[1:]:
    proto, port = spec.split('/')
    kind = socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', int(port)))
    if proto == 'tcp':
        s.listen(16)
    sel.register(s, selectors.EVENT_READ, proto)
print('ready', flush=True)
while True:
    for key, _ in sel.select():
        if key.data == 'tcp':
            conn, _ = key.fileobj.accept()
            conn.sendall(b'ok')
            conn.close()
        else:
            data, peer = key.fileobj.recvfrom(512)
            key.fileobj.sendto(b'ok', peer)
"""
CLIENT = """
import socket, sys
proto, ip, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM)
s.settimeout(timeout)
try:
    if proto == 'tcp':
        s.connect((ip, port))
        ok = s.recv(2) == b'ok'
    else:
        s.sendto(b'hi', (ip, port))
        ok = s.recvfrom(2)[0] == b'ok'
except OSError:
    ok = False
sys.exit(0 if ok else 1)
"""


@dataclass
class Lab:
    router: str
    hosts: dict[str, str]  # role -> namespace

    def reach(self, src: str, proto: str, ip: str, port: int) -> bool:
        done = subprocess.run(["ip", "netns", "exec", self.hosts[src], sys.executable, "-c", CLIENT, proto, ip,
                               str(port), str(TIMEOUT_S)], capture_output=True, timeout=30, check=False)
        return done.returncode == 0


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def netlab() -> Iterator[Lab]:
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces")
    if shutil.which("nft") is None or shutil.which("ip") is None:
        pytest.skip("needs nft (Debian package nftables) and ip (iproute2)")
    tag = f"iw{os.getpid() % 100000}"
    router = f"{tag}r"
    roles = {"cam": CAM, "srv": SRV, "plc": PLC}
    lab = Lab(router, {role: f"{tag}{role}" for role in roles})
    servers: list[subprocess.Popen[str]] = []
    try:
        try:
            _ip("netns", "add", router)
        except (subprocess.CalledProcessError, OSError) as exc:
            pytest.skip(f"cannot create network namespaces here: {exc}")
        _ip("-n", router, "link", "set", "lo", "up")
        subprocess.run(["ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True,
                       timeout=30)
        for i, (role, addr) in enumerate(roles.items()):
            ns, gw = lab.hosts[role], addr.rsplit(".", 1)[0] + ".1"
            _ip("netns", "add", ns)
            _ip("link", "add", f"{tag}h{i}", "netns", ns, "type", "veth", "peer", "name", f"{tag}p{i}",
                "netns", router)
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", f"{tag}h{i}")
            _ip("-n", ns, "link", "set", f"{tag}h{i}", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "route", "add", "default", "via", gw)
            _ip("-n", router, "addr", "add", f"{gw}/24", "dev", f"{tag}p{i}")
            _ip("-n", router, "link", "set", f"{tag}p{i}", "up")
            proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, "tcp/80", "tcp/445",
                                     "tcp/502", "tcp/8883", "tcp/22", "udp/53", "udp/161"],
                                    stdout=subprocess.PIPE, text=True)
            servers.append(proc)
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield lab
    finally:
        for proc in servers:
            proc.kill()
            proc.wait(timeout=10)
        for ns in (router, *lab.hosts.values()):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30, check=False)


@pytest.mark.netns
def test_the_rendered_policy_enforces_allows_drops_and_quarantine(netlab: Lab) -> None:
    assert netlab.reach("cam", "tcp", SRV, 445)  # no ruleset yet: everything is routed
    apply(render(POLICY, resolve(POLICY, [])), netns=netlab.router)
    apply(render(POLICY, resolve(POLICY, [])), netns=netlab.router)  # loading again replaces the table
    started = time.monotonic()
    # allowed by rules
    assert netlab.reach("cam", "tcp", SRV, 8883)
    assert netlab.reach("cam", "udp", SRV, 53)
    assert netlab.reach("srv", "tcp", PLC, 502)  # a log rule lets it through
    # denied: no rule, default deny
    assert not netlab.reach("cam", "tcp", SRV, 445)
    assert not netlab.reach("cam", "udp", SRV, 161)
    assert not netlab.reach("cam", "tcp", PLC, 502)
    assert not netlab.reach("srv", "tcp", CAM, 22)
    # the OT zone is availability-first: what no rule allows is logged, not dropped
    assert netlab.reach("plc", "tcp", SRV, 22)
    assert time.monotonic() - started < 60

    isolated = quarantine(POLICY, [CAM], [Q_DNS])
    apply(render(isolated, resolve(isolated, [])), netns=netlab.router)
    assert netlab.reach("cam", "udp", SRV, 53)  # its quarantine rule
    assert not netlab.reach("cam", "tcp", SRV, 8883)  # allowed before, not now
    assert not netlab.reach("cam", "tcp", PLC, 502)
    assert not netlab.reach("srv", "tcp", CAM, 80)  # nothing reaches a quarantined device
    assert not netlab.reach("plc", "tcp", CAM, 80)
    assert netlab.reach("srv", "tcp", PLC, 502)  # the rest of the site is unchanged
    listed = subprocess.run(["ip", "netns", "exec", netlab.router, "nft", "list", "chain", "inet", "iotwarden",
                             "from_quarantine"], capture_output=True, text=True, check=True, timeout=30).stdout
    assert 'comment "q_dns"' in listed and "packets 0 " not in listed.split("q_dns")[0].rsplit("\n", 1)[-1]


@pytest.mark.netns
def test_a_domain_rule_passes_only_to_the_addresses_its_name_resolved_to(netlab: Lab) -> None:
    policy = Policy.from_dict({
        "name": "named", "default": "deny", "site_networks": POLICY.to_dict()["site_networks"],
        "zones": [{"name": "cameras", "devices": [CAM]}],
        "rules": [{"name": "cam_cloud", "from": "cameras", "to": "any", "action": "allow",
                   "services": [{"proto": "tcp", "port": 8883}], "destinations": ["mqtt.vendor.example"]}],
    })
    apply(render(policy, resolve(policy, []), {"mqtt.vendor.example": [SRV]}), netns=netlab.router)
    assert netlab.reach("cam", "tcp", SRV, 8883)  # the name's address
    assert not netlab.reach("cam", "tcp", PLC, 8883)  # same service, an address the name does not have
    apply(render(policy, resolve(policy, []), {}), netns=netlab.router)  # refreshed: the name moved away
    assert not netlab.reach("cam", "tcp", SRV, 8883)
