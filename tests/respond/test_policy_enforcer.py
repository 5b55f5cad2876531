"""The policy-backed quarantine: a playbook's quarantine moves the device into the stored policy's
isolated zone (a new policy version), the one segmentation ruleset is re-rendered and loaded, and undo
releases it; proven in the network namespaces of tests/policy/test_nftables.py (created and removed
by the test, RFC 5737 addresses that exist only inside them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iotwarden.errors import PolicyError
from iotwarden.policy import storage
from iotwarden.policy.match import resolve
from iotwarden.policy.nftables import apply, render
from iotwarden.policy.quarantine import QUARANTINE
from iotwarden.respond.engine import ResponseEngine
from iotwarden.respond.playbook import DeviceFacts, parse_playbooks
from iotwarden.respond.policy_enforcer import PolicyEnforcer, member_keys
from iotwarden.respond.quarantine import DryRunEnforcer, QuarantineTarget
from iotwarden.store import Store
from tests.policy.test_nftables import CAM, PLC, POLICY, Q_DNS, SRV, Lab, netlab  # noqa: F401 - fixture
from tests.respond.conftest import mirai_alert

CONTAIN = parse_playbooks([{"name": "contain", "trigger": {"detector": "detect.scan.*"}, "actions": ["quarantine"]}])
CAMERA = DeviceFacts(f"ip:{CAM}", None, (CAM,), "iot", "camera")


@pytest.fixture
def policy_store(tmp_path: Path) -> Store:
    st = Store(f"sqlite:///{tmp_path / 'p.db'}")
    storage.save(st, POLICY, "deployed")
    return st


def test_member_keys_cover_the_mac_and_every_address() -> None:
    target = QuarantineTarget("mac:44:47:cc:2b:10:03", "44:47:cc:2b:10:03", ("10.0.0.5", "2001:db8::5"))
    assert member_keys(target) == ["mac:44:47:cc:2b:10:03", "ip:10.0.0.5", "ip:2001:db8::5"]


def test_quarantine_and_release_are_policy_versions_and_the_ruleset_is_loaded(policy_store: Store) -> None:
    loaded: list[dict[str, Any]] = []
    enforcer = PolicyEnforcer(policy_store, POLICY.name, (Q_DNS,), netns="lab-router",
                              loader=lambda text, **kw: loaded.append({"text": text, **kw}))
    engine = ResponseEngine(policy_store, CONTAIN, enforcer=enforcer)
    [action] = engine.respond(mirai_alert(CAMERA.key, CAM), CAMERA)
    assert action.status == "done" and action.result["policy"] == POLICY.name
    assert action.result["enforcer"] == "PolicyEnforcer" and action.result["netns"] == "lab-router"
    current = storage.load(policy_store, POLICY.name)
    assert current.zones[0].name == QUARANTINE and current.zones[0].devices == [f"ip:{CAM}"]
    assert [v["comment"] for v in storage.versions(policy_store, POLICY.name)] == ["deployed", f"quarantine ip:{CAM}"]
    [first] = loaded
    assert first["netns"] == "lab-router" and first["text"] == action.result["rules"]
    assert 'ip daddr @z_quarantine_v4 counter drop comment "quarantine.isolated"' in first["text"]
    engine.undo(action.id, actor="user:test")
    assert storage.load(policy_store, POLICY.name).zones[0].devices == []
    assert f"{CAM} : jump from_cameras" in loaded[1]["text"]  # back in its zone


def test_without_a_stored_policy_the_quarantine_fails_and_is_logged(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'empty.db'}") as st:
        engine = ResponseEngine(st, CONTAIN, enforcer=PolicyEnforcer(st, "site", load=False))
        [action] = engine.respond(mirai_alert(CAMERA.key, CAM), CAMERA)
        assert action.status == "failed" and "no stored policy 'site'" in action.result["error"]
        with pytest.raises(PolicyError, match="no stored policy"):
            PolicyEnforcer(st, "site").apply(QuarantineTarget(CAMERA.key, None, (CAM,)))


@pytest.mark.netns
def test_the_policy_quarantine_isolates_the_camera_in_the_loaded_ruleset_until_undone(
        netlab: Lab, policy_store: Store) -> None:  # noqa: F811 - the imported fixture
    enforcer = PolicyEnforcer(policy_store, POLICY.name, (Q_DNS,), netns=netlab.router)
    apply(render(POLICY, resolve(POLICY, [])), netns=netlab.router)  # the deployed policy
    assert netlab.reach("cam", "tcp", SRV, 8883)  # the deployed policy allows it
    engine = ResponseEngine(policy_store, CONTAIN, enforcer=enforcer)
    [action] = engine.respond(mirai_alert(CAMERA.key, CAM), CAMERA)
    assert action.status == "done", action.result
    assert netlab.reach("cam", "udp", SRV, 53)  # its quarantine rule
    assert not netlab.reach("cam", "tcp", SRV, 8883)
    assert not netlab.reach("srv", "tcp", CAM, 80)  # nothing reaches it
    assert netlab.reach("srv", "tcp", PLC, 502)  # the rest of the site is unchanged
    engine.undo(action.id, actor="user:test")
    assert netlab.reach("cam", "tcp", SRV, 8883)


def test_a_playbook_chooses_the_policy_quarantine_with_via(policy_store: Store) -> None:
    via_policy = parse_playbooks([{"name": "contain", "trigger": {"detector": "detect.scan.*"},
                                   "actions": [{"quarantine": {"via": "policy"}}]}])
    table = DryRunEnforcer()
    loaded: list[str] = []
    in_policy = PolicyEnforcer(policy_store, POLICY.name, loader=lambda text, **_: loaded.append(text))
    without = ResponseEngine(policy_store, via_policy, enforcer=table)
    [failed] = without.respond(mirai_alert(CAMERA.key, CAM), CAMERA)
    assert failed.status == "failed" and "no such enforcer" in failed.result["error"]
    engine = ResponseEngine(policy_store, via_policy, enforcer=table, enforcers={"table": table, "policy": in_policy})
    later = mirai_alert(CAMERA.key, CAM)
    later.uid = "a-later-alert"
    [action] = engine.respond(later, CAMERA)
    assert action.result["enforcer"] == "PolicyEnforcer" and table.applied == [] and len(loaded) == 1
    undone = engine.undo(action.id, actor="user:test")  # released by the kind of enforcer that applied it
    assert undone.result["enforcer"] == "PolicyEnforcer" and len(loaded) == 2 and table.applied == []
