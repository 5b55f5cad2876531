"""Done-when on the lab: a policy proposed from the benign enterprise traffic blocks none of it, and
blocks the attack's lateral movement (SMB, RDP, SSH from the compromised camera to the IT servers)."""

from __future__ import annotations

import pytest

from iotwarden.errors import PolicyError
from iotwarden.policy.match import resolve, verdict
from iotwarden.policy.model import dump_text, load_text
from iotwarden.policy.propose import MAX_DEST_HOSTS, propose
from iotwarden.policy.simulate import simulate
from tests.policy.conftest import Lab

ADMIN_PORTS = {445, 3389, 22}


def _attack_hosts(lab: Lab) -> tuple[str, set[str]]:
    """The attacker and targets of the lateral movement, from the scenario's ground truth."""
    attack = next(a for a in lab.truth["attacks"] if a["kind"] == "lateral_movement")  # type: ignore[attr-defined]
    return str(attack["attacker"]["ip"]), set(attack["targets"])


def test_proposed_policy_blocks_no_benign_flow_and_the_lateral_movement(lab: Lab) -> None:
    policy = load_text(dump_text(propose(lab.benign.devices, lab.benign.flows)))
    benign = simulate(policy, lab.benign.devices, lab.benign.flows)
    assert benign.total.blocked == 0
    assert benign.total.allowed + benign.total.logged == len(lab.benign.flows) > 300

    camera, servers = _attack_hosts(lab)
    lateral = [f for f in lab.attack.flows if f.a_ip == camera and f.b_ip in servers and f.b_port in ADMIN_PORTS]
    assert {f.b_port for f in lateral} == ADMIN_PORTS and {f.b_ip for f in lateral} == servers
    members = resolve(policy, lab.attack.devices)
    assert all(verdict(policy, members, f).blocked for f in lateral)

    report = simulate(policy, lab.attack.devices, lab.attack.flows).to_dict()
    camera_key = next(d.key for d in lab.attack.devices if camera in d.ips)
    assert report["devices"][camera_key]["blocked"] >= len(lateral)
    blocked_services = {k for k, v in report["services"].items() if v["blocked"]}
    assert {s.rsplit("/", 1)[1] for s in blocked_services} >= {"445", "3389", "22"}
    # the benign flows of the attack capture still pass: only the camera is hit
    assert set(report["devices"]) == {camera_key}


def test_every_rule_is_explained_by_the_flows_that_need_it(lab: Lab) -> None:
    policy = propose(lab.benign.devices, lab.benign.flows)
    assert policy.rules
    for rule in policy.rules:
        assert rule.action == "allow" and rule.why["flows"] >= 1 and rule.why["examples"]
        assert len(rule.destinations) <= MAX_DEST_HOSTS
        ex = rule.why["examples"][0]
        assert any(s.matches(ex["proto"], ex["port"]) for s in rule.services)
    zones = {z.name: z for z in policy.zones}
    assert zones["ot"].availability_first and zones["ot"].effective_default("deny") == "log"
    assert {"iot", "it", "ot"} <= set(zones)


@pytest.mark.parametrize("name", ["", "Proposed", "a/b", "x" * 40])
def test_a_name_the_policy_file_could_not_be_loaded_under_is_refused(name: str) -> None:
    with pytest.raises(PolicyError, match="is not a name"):
        propose([], [], name=name)
