"""Policy diff: what a change breaks (newly blocked) and opens (newly allowed), by business service."""

from __future__ import annotations

from iotwarden.policy.diff import diff
from iotwarden.policy.model import Policy
from tests.policy.test_simulate import POLICY, _dev, _flow


def test_removing_a_rule_breaks_its_service_and_adding_one_opens_another() -> None:
    new = Policy.from_dict({**POLICY.to_dict(), "rules": [
        {"name": "ssh", "from": "it", "to": "iot", "services": [{"proto": "tcp", "port": 22}], "action": "log"}]})
    devices = [_dev("mac:01", "10.0.0.1", "it"), _dev("mac:02", "10.0.1.2", "iot")]
    flows = [_flow("10.0.0.1", "10.0.1.2", 9100), _flow("10.0.0.1", "10.0.1.2", 22)]
    out = diff(POLICY, new, devices, flows).to_dict()
    assert out["flows"] == 2
    assert list(out["breaks"]) == ["printing"] and out["breaks"]["printing"]["flows"] == 1
    assert list(out["opens"]) == ["iot:tcp/22"]
    assert out["opens"]["iot:tcp/22"]["examples"][0]["new"]["rule"] == "ssh"
    assert out["rules"] == {"added": ["ssh"], "removed": ["print"]}
