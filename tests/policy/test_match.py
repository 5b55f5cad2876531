"""The decision procedure: not routed, isolated, intra-zone, first matching rule, zone default."""

from __future__ import annotations

from iotwarden.model import Conclusion, Device, Flow
from iotwarden.policy.match import MAX_HOSTS, NOT_ROUTED, resolve, service_of, verdict
from iotwarden.policy.model import Policy

POLICY = Policy.from_dict({
    "name": "m", "default": "deny",
    "zones": [{"name": "cams", "device_types": ["ip_camera"]}, {"name": "iot", "categories": ["iot"]},
              {"name": "plant", "categories": ["ot"]}, {"name": "lan", "subnets": ["10.1.0.0/16"]}],
    "rules": [
        {"name": "cloud", "from": "cams", "to": "internet", "destinations": ["cloud.example.com", "192.0.2.0/24"],
         "services": [{"proto": "tcp", "port": 443}], "action": "allow"},
        {"name": "no_ssh", "to": "any", "services": [{"proto": "tcp", "port": 22}], "action": "deny"},
        {"name": "web", "from": "lan", "to": "any", "services": [{"proto": "tcp", "ports": ["80", "8000-8100"]}],
         "action": "allow"},
    ],
})


def _dev(key: str, ip: str, **classes: str) -> Device:
    return Device(key=key, first_seen=0, last_seen=0, mac=key[4:], ips={ip},
                  classification={k: Conclusion(v, 1) for k, v in classes.items()})


DEVICES = [_dev("mac:00:00:00:00:00:01", "10.2.0.1", category="IoT", device_type="ip_camera"),
           _dev("mac:00:00:00:00:00:02", "10.2.0.2", category="IoT"),
           _dev("mac:00:00:00:00:00:03", "10.3.0.3", category="OT")]


def _v(a: str, b: str, port: int, proto: int = 6, names: dict[str, list[str]] | None = None) -> tuple[str, str]:
    flow = Flow(vlan=0, ip_proto=proto, a_ip=a, a_port=50000, b_ip=b, b_port=port, first_seen=0, last_seen=0)
    v = verdict(POLICY, resolve(POLICY, DEVICES), flow, names)
    return v.action, v.rule


def test_zones_take_the_first_zone_that_selects_a_device() -> None:
    m = resolve(POLICY, DEVICES)
    assert [m.zone_of(ip) for ip in ("10.2.0.1", "10.2.0.2", "10.3.0.3", "10.1.4.4", "10.9.9.9", "8.8.8.8")] == [
        "cams", "iot", "plant", "lan", None, "internet"]
    assert m.zone_of("10.9.9.9", "00:00:00:00:00:02") == "iot"  # the MAC places an unknown address
    assert MAX_HOSTS >= 1_000_000


def test_rules_in_order_then_the_zone_default() -> None:
    assert _v("10.2.0.1", "192.0.2.7", 443) == ("allow", "cloud")
    assert _v("10.2.0.1", "198.51.100.7", 443) == ("deny", "cams.default")  # not a listed destination
    assert _v("10.2.0.1", "198.51.100.7", 443, names={"198.51.100.7": ["cloud.example.com"]}) == ("allow", "cloud")
    assert _v("10.1.0.5", "10.2.0.2", 22) == ("deny", "no_ssh")  # earlier rule wins over "web"
    assert _v("10.1.0.5", "10.2.0.2", 8080) == ("allow", "web")
    assert _v("10.1.0.5", "10.2.0.2", 8101) == ("deny", "lan.default")
    assert _v("10.3.0.3", "10.2.0.2", 9999) == ("log", "plant.default")  # OT: availability first
    assert _v("10.9.9.9", "10.2.0.2", 80) == ("deny", "default")  # unzoned source: policy default
    assert _v("10.1.0.5", "10.1.0.6", 3389) == ("allow", "lan.intra")
    assert _v("10.2.0.1", "224.0.0.251", 5353, proto=17) == ("allow", NOT_ROUTED)


def test_business_service_is_zone_proto_port_unless_named() -> None:
    flow = Flow(vlan=0, ip_proto=17, a_ip="a", a_port=1, b_ip="b", b_port=53, first_seen=0, last_seen=0)
    assert service_of(POLICY, flow, "lan") == "lan:udp/53"
