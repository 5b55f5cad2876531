"""What-if testing: tallies per device, per business service (named or zone:proto/port) and per rule."""

from __future__ import annotations

from iotwarden.model import Conclusion, Device, Flow
from iotwarden.policy.model import Policy
from iotwarden.policy.simulate import render_text, simulate

POLICY = Policy.from_dict({
    "name": "t", "services": {"printing": [{"proto": "tcp", "ports": [631, 9100]}]},
    "zones": [{"name": "iot", "categories": ["iot"]}, {"name": "it", "categories": ["it"]}],
    "rules": [{"name": "print", "from": "it", "to": "iot", "services": ["printing"], "action": "allow"}],
})


def _dev(key: str, ip: str, cat: str) -> Device:
    return Device(key=key, first_seen=0, last_seen=0, ips={ip}, classification={"category": Conclusion(cat, 1)})


def _flow(a: str, b: str, port: int) -> Flow:
    return Flow(vlan=0, ip_proto=6, a_ip=a, a_port=50000, b_ip=b, b_port=port, first_seen=1, last_seen=2)


def test_report_per_device_service_and_rule() -> None:
    devices = [_dev("mac:01", "10.0.0.1", "it"), _dev("mac:02", "10.0.1.2", "iot")]
    flows = [_flow("10.0.0.1", "10.0.1.2", 9100), _flow("10.0.0.1", "10.0.1.2", 22), _flow("10.0.1.2", "10.0.0.1", 445)]
    report = simulate(POLICY, devices, flows)
    assert (report.total.allowed, report.total.blocked) == (1, 2)
    assert report.devices["mac:01"].blocked == 1 and report.devices["mac:02"].blocked == 1
    assert report.services["printing"].allowed == 1
    assert report.services["iot:tcp/22"].blocked == 1 and report.services["it:tcp/445"].blocked == 1
    assert report.rules == {"print": 1, "it.default": 1, "iot.default": 1}
    out = report.to_dict()
    assert set(out["devices"]) == {"mac:01", "mac:02"} and "printing" not in out["services"]
    assert "3 flows, 1 allowed, 0 logged, 2 blocked" in render_text(report)[0]
