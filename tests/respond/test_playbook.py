"""Playbooks: validation names the playbook and the bad key; triggers match alert and device facts;
OT devices are notify-only unless the playbook sets allow_ot; any YAML yields playbooks or PolicyError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import PolicyError
from iotwarden.respond import playbook
from iotwarden.respond.playbook import DeviceFacts, load_playbooks, parse_playbooks
from tests.respond.conftest import mirai_alert

CAMERA = DeviceFacts("mac:44:47:cc:2b:10:03", "44:47:cc:2b:10:03", ("10.10.20.102",), "iot", "camera", "Hikvision")
PLC = DeviceFacts("mac:00:1b:1b:00:00:01", "00:1b:1b:00:00:01", ("10.10.30.20",), "ot", "plc", "Siemens")
CONTAIN = """
playbooks:
  - name: contain-mirai
    description: Isolate IoT devices that scan for Telnet like Mirai.
    trigger: {detector: "detect.scan.*", min_severity: high, category: [iot, ot]}
    actions:
      - quarantine
      - revoke_certificate: {reason: key_compromise}
      - notify_webhook: {url: "https://soc.example/hook", timeout_s: 2, retries: 1, headers: {Authorization: t}}
      - open_case: {title: "Mirai scan from {device}"}
      - tag_device: {tag: compromised}
"""


def one(doc: dict[str, Any]) -> playbook.Playbook:
    return parse_playbooks({"playbooks": [doc]})[0]


def base(**over: Any) -> dict[str, Any]:
    return {"name": "p", "trigger": {"detector": "detect.*"}, "actions": ["quarantine"], **over}


def test_a_full_playbook_parses_with_defaults_filled_in() -> None:
    pb = parse_playbooks(yaml.safe_load(CONTAIN))[0]
    assert pb.name == "contain-mirai" and pb.enabled and not pb.allow_ot
    assert [a.kind for a in pb.actions] == ["quarantine", "revoke_certificate", "notify_webhook", "open_case",
                                            "tag_device"]
    hook = pb.actions[2].params
    assert (hook["timeout_s"], hook["retries"]) == (2.0, 1)
    assert one(base(actions=["revoke_certificate"])).actions[0].params == {"reason": "key_compromise"}
    assert one(base(actions=[{"notify_webhook": {"url": "http://x/"}}])).actions[0].params["retries"] == 2


@pytest.mark.parametrize(("doc", "message"), [
    (base(name="Bad Name"), r"playbooks\[0\]\.name"),
    (base(colour="red"), r"\(p\): unknown key 'colour'"),
    (base(trigger={"detectr": "x"}), r"\(p\)\.trigger: unknown key 'detectr'"),
    (base(trigger={}), r"\(p\)\.trigger: a mapping"),
    (base(trigger={"min_severity": "urgent"}), r"trigger\.min_severity: one of info"),
    (base(trigger={"severity": ["high", "loud"]}), r"trigger\.severity"),
    (base(trigger={"category": "toaster"}), r"trigger\.category: one of iot"),
    (base(trigger={"vendor": [1]}), r"trigger\.vendor: a string"),
    ({"name": "p", "actions": ["quarantine"]}, r"\(p\): missing key 'trigger'"),
    (base(actions=[]), r"\(p\)\.actions: a non-empty list"),
    (base(actions=["reboot"]), r"actions\[0\]: unknown action 'reboot'"),
    (base(actions=[{"quarantine": {}, "tag_device": {}}]), r"actions\[0\]: an action name or a one-key"),
    (base(actions=[{"tag_device": {}}]), r"actions\[0\]\.tag_device: missing key 'tag'"),
    (base(actions=[{"tag_device": {"tag": "Has Space"}}]), r"tag_device\.tag"),
    (base(actions=[{"notify_webhook": {"url": "ftp://x"}}]), r"notify_webhook\.url: an http"),
    (base(actions=[{"notify_webhook": {"url": "http://x", "retries": 99}}]), r"notify_webhook\.retries"),
    (base(actions=[{"notify_webhook": {"url": "http://x", "timeout_s": 0}}]), r"notify_webhook\.timeout_s"),
    (base(actions=[{"notify_webhook": {"url": "http://x", "headers": {"a": 1}}}]), r"notify_webhook\.headers"),
    (base(actions=[{"notify_webhook": {"url": "http://x", "proxy": "y"}}]), r"unknown key 'proxy'"),
    (base(actions=[{"notify_webhook": {"url": "http://x", "secret": "short"}}]), r"notify_webhook\.secret: a string"),
    (base(actions=[{"revoke_certificate": {"reason": "bored"}}]), r"revoke_certificate\.reason"),
    (base(actions=[{"open_case": {"severity": "huge"}}]), r"open_case\.severity"),
    (base(actions=[{"quarantine": []}]), r"quarantine: parameters must be a mapping"),
    (base(actions=[{"quarantine": {"via": "firewall"}}]), r"quarantine\.via: one of enforcer, table, policy"),
    (base(allow_ot="yes"), r"\(p\)\.allow_ot: true or false"),
    (base(actions=["quarantine"] * (playbook.MAX_ACTIONS + 1)), r"at most 16 actions"),
])
def test_validation_errors_name_the_playbook_and_the_bad_key(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        one(doc)


def test_file_level_errors() -> None:
    with pytest.raises(PolicyError, match="used twice"):
        parse_playbooks([base(), base()])
    with pytest.raises(PolicyError, match="unknown key 'rules'"):
        parse_playbooks({"rules": []})
    with pytest.raises(PolicyError, match="expected a list"):
        parse_playbooks("quarantine everything")
    with pytest.raises(PolicyError, match="at most 256"):
        parse_playbooks([base(name=f"p{i}") for i in range(playbook.MAX_PLAYBOOKS + 1)])


def test_loading_a_file_a_folder_and_broken_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(CONTAIN)
    (tmp_path / "b.yml").write_text(yaml.safe_dump({"playbooks": [base(name="notify-ot")]}))
    assert [p.name for p in load_playbooks(tmp_path)] == ["contain-mirai", "notify-ot"]
    assert len(load_playbooks(tmp_path / "a.yaml")) == 1
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"playbooks": [base(name="contain-mirai")]}))
    with pytest.raises(PolicyError, match="'contain-mirai' is used twice"):
        load_playbooks(tmp_path)
    (tmp_path / "bad.yaml").write_text("playbooks: [unclosed")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_playbooks(tmp_path / "bad.yaml")
    with pytest.raises(PolicyError, match="cannot read"):
        load_playbooks(tmp_path / "missing.yaml")


def test_triggers_match_detector_severity_and_device_facts() -> None:
    alert = mirai_alert()
    trig = playbook.parse_trigger({"detector": ["detect.dns.*", "detect.scan.*"], "min_severity": "high",
                                   "category": "IoT", "device_type": "cam*", "vendor": "hikvision"}, "t")
    assert trig.matches(alert, CAMERA)
    assert not trig.matches(alert, PLC)  # category, type and vendor differ
    assert not trig.matches(alert, None)  # device facts asked for but unknown: no match
    assert not playbook.parse_trigger({"min_severity": "critical"}, "t").matches(alert, CAMERA)
    assert playbook.parse_trigger({"severity": ["high"]}, "t").matches(alert, None)
    assert not playbook.parse_trigger({"detector": "detect.ot.*"}, "t").matches(alert, CAMERA)


def test_ot_devices_are_notify_only_unless_allow_ot() -> None:
    pb = parse_playbooks(yaml.safe_load(CONTAIN))[0]
    on_plc = [(a.kind, skip is None) for a, skip in pb.actions_for(PLC)]
    assert on_plc == [("quarantine", False), ("revoke_certificate", False), ("notify_webhook", True),
                      ("open_case", False), ("tag_device", False)]
    assert "allow_ot" in (pb.actions_for(PLC)[0][1] or "")
    assert all(skip is None for _, skip in pb.actions_for(CAMERA))
    trusting = one({**playbook.to_dict(pb), "allow_ot": True})
    assert all(skip is None for _, skip in trusting.actions_for(PLC))


def test_a_playbook_round_trips_through_its_dict() -> None:
    pb = parse_playbooks(yaml.safe_load(CONTAIN))[0]
    assert one(playbook.to_dict(pb)) == pb


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4), max_leaves=20)
_keys = st.sampled_from(["name", "trigger", "actions", "allow_ot", "enabled", "detector", "quarantine",
                         "notify_webhook", "url", "tag_device", "tag", "playbooks", "min_severity"])
_shaped = st.recursive(st.sampled_from(["p", "detect.*", "high", "http://x", "iot", True, 3]),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=4),
                       max_leaves=25)


@settings(max_examples=200, deadline=None)
@given(st.one_of(_json, _shaped))
def test_any_yaml_gives_playbooks_or_a_policy_error(data: Any) -> None:
    try:
        out = parse_playbooks(data)
    except PolicyError:
        return
    assert all(isinstance(p, playbook.Playbook) for p in out)


def test_a_webhook_secret_is_kept_for_signing_but_never_listed() -> None:
    secret = "s" * playbook.MIN_SECRET_LEN
    [pb] = parse_playbooks([base(actions=[{"notify_webhook": {"url": "http://x", "secret": secret}}])])
    assert pb.actions[0].params["secret"] == secret
    assert playbook.to_dict(pb)["actions"] == [{"notify_webhook": {"url": "http://x", "timeout_s": 5.0, "retries": 2,
                                                                   "secret": "<redacted>"}}]
