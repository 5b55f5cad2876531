"""The response engine on the scenario of issue 6: a Mirai-style scan alert on an IoT camera quarantines
it (dry-run rules recorded), revokes every certificate it holds (they appear in the CRL), notifies a
webhook, opens a case with a timeline and tags the device; the same alert on an OT PLC only notifies.
Every action is logged and the reversible ones undo."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from iotwarden.errors import ConfigError
from iotwarden.identity import keystore
from iotwarden.identity.ca import DeviceCA
from iotwarden.respond import cases, notify
from iotwarden.respond.actions import list_actions
from iotwarden.respond.engine import MAX_ALERTS_PER_RUN, MAX_HANDLED, ResponseEngine
from iotwarden.respond.notify import Delivery
from iotwarden.respond.playbook import parse_playbooks
from iotwarden.respond.quarantine import Allow, DryRunEnforcer
from iotwarden.store import Store
from iotwarden.store.alerts import upsert_alerts
from iotwarden.store.respond_models import DeviceTagRow, HandledRow
from tests.respond.conftest import CAMERA_IP, CAMERA_KEY, CAMERA_MAC, PLC_IP, PLC_KEY, Receiver, mirai_alert


def contain(url: str, **extra: Any) -> list[Any]:
    return parse_playbooks([{
        "name": "contain-mirai", "trigger": {"detector": "detect.scan.*", "min_severity": "high"}, **extra,
        "actions": ["quarantine", {"revoke_certificate": {"reason": "key_compromise"}},
                    {"notify_webhook": {"url": url, "timeout_s": 2, "retries": 1,
                                        "headers": {"Authorization": "Bearer s3cret"}}},
                    {"open_case": {"title": "Mirai scan from {device}"}}, {"tag_device": {"tag": "compromised"}}],
    }])


def issue(ca: DeviceCA, cn: str, device_key: str) -> str:
    key = keystore.generate()
    _, rec = ca.issue_for_key(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]), key.public_key(),
                              device_key=device_key)
    return rec.serial


def crl_serials(ca: DeviceCA) -> set[int]:
    crl = x509.load_pem_x509_crl((ca.folder / "crl.pem").read_bytes())
    return {entry.serial_number for entry in crl}


@pytest.fixture
def dry() -> DryRunEnforcer:
    return DryRunEnforcer((Allow.parse("any udp/67"),))


def test_a_mirai_scan_on_an_iot_camera_runs_the_whole_playbook(store: Store, ca: DeviceCA, receiver: Receiver,
                                                                 dry: DryRunEnforcer) -> None:
    serials = [issue(ca, "cam-1", CAMERA_KEY), issue(ca, "cam-1-backup", CAMERA_KEY)]
    other = issue(ca, "plc-1", PLC_KEY)
    engine = ResponseEngine(store, contain(receiver.url), enforcer=dry, ca=ca)
    done = engine.respond(mirai_alert())
    assert [(a.kind, a.status) for a in done] == [("quarantine", "done"), ("revoke_certificate", "done"),
                                                  ("notify_webhook", "done"), ("open_case", "done"),
                                                  ("tag_device", "done")]
    # quarantine: the rendered rules isolate the camera's MAC and address (dry run: recorded only)
    [script] = dry.applied
    assert f"add element inet iotwarden_quarantine q_mac {{ {CAMERA_MAC} }}" in script
    assert f"add element inet iotwarden_quarantine q_ip4 {{ {CAMERA_IP} }}" in script
    assert done[0].result["rules"] == script and done[0].params["target"]["key"] == CAMERA_KEY
    # revocation: every certificate the camera holds, through the real CA, now in the CRL; the PLC's is not
    assert sorted(done[1].result["revoked"]) == sorted(serials)
    assert crl_serials(ca) == {int(s, 16) for s in serials}
    assert ca.repo.get_certificate(other).status == "valid"  # type: ignore[union-attr]
    # webhook: received on 127.0.0.1 with the alert, the device and what was done before it
    [note] = receiver.received
    assert note["schema"] == "iotwarden.notification/1" and note["alert"]["id"] == "detect.scan.telnet_mirai"
    assert note["device"]["device_type"] == "camera" and note["device"]["category"] == "iot"
    assert note["actions"] == [{"kind": "quarantine", "status": "done"}, {"kind": "revoke_certificate",
                                                                         "status": "done"}]
    assert receiver.headers[0]["Authorization"] == "Bearer s3cret"
    assert done[2].params["headers"] == {"Authorization": "<redacted>"}  # the token never reaches the log
    # the case: opened with the alert, every action of the run linked, in its NIST phase
    case_id = done[3].result["case_id"]
    with store.session() as session:
        case = cases.to_case(session, cases.get_row(session, case_id))
    assert case.title == f"Mirai scan from {CAMERA_KEY}" and case.severity == "high"
    assert case.phase == cases.CONTAINMENT and case.device_key == CAMERA_KEY
    timeline = [(e["kind"], e["phase"], e["ref"]) for e in case.timeline]
    assert ("alert", cases.DETECTION, mirai_alert().uid) in timeline
    linked = {int(e["ref"]): e["phase"] for e in case.timeline if e["kind"] == "action"}
    assert linked == {done[0].id: cases.CONTAINMENT, done[1].id: cases.CONTAINMENT, done[2].id: cases.DETECTION,
                      done[3].id: cases.DETECTION, done[4].id: cases.DETECTION}
    # every action in the log, with who, what, when and the case
    with store.session() as session:
        logged = list_actions(session, device=CAMERA_KEY)
    assert {a.id for a in logged} == {a.id for a in done}
    assert all(a.actor == "playbook:contain-mirai" and a.case_id == case_id and a.ts > 0 for a in logged)


def test_the_same_alert_on_an_ot_plc_only_notifies(store: Store, ca: DeviceCA, receiver: Receiver,
                                                    dry: DryRunEnforcer) -> None:
    serial = issue(ca, "plc-1", PLC_KEY)
    engine = ResponseEngine(store, contain(receiver.url), enforcer=dry, ca=ca)
    done = engine.respond(mirai_alert(PLC_KEY, PLC_IP))
    assert [(a.kind, a.status) for a in done] == [("quarantine", "skipped"), ("revoke_certificate", "skipped"),
                                                  ("notify_webhook", "done"), ("open_case", "skipped"),
                                                  ("tag_device", "skipped")]
    assert "notify-only" in done[0].result["reason"]
    assert dry.applied == [] and len(receiver.received) == 1
    assert ca.repo.get_certificate(serial).status == "valid"  # type: ignore[union-attr]
    with store.session() as session:
        assert cases.list_cases(session) == []


def test_allow_ot_lets_a_playbook_act_on_ot_devices(store: Store, receiver: Receiver, dry: DryRunEnforcer) -> None:
    engine = ResponseEngine(store, contain(receiver.url, allow_ot=True), enforcer=dry)
    done = engine.respond(mirai_alert(PLC_KEY, PLC_IP))
    assert done[0].status == "done" and f"{{ {PLC_IP} }}" in dry.applied[0]
    assert done[1].status == "failed" and "no device CA" in done[1].result["error"]  # failures are logged too


def test_undo_releases_closes_and_untags_but_never_unrevokes(store: Store, ca: DeviceCA, receiver: Receiver,
                                                             dry: DryRunEnforcer) -> None:
    issue(ca, "cam-1", CAMERA_KEY)
    engine = ResponseEngine(store, contain(receiver.url), enforcer=dry, ca=ca)
    quarantine, revoke, notify, case, tag = engine.respond(mirai_alert())
    released = engine.undo(quarantine.id, actor="user:alice")
    assert released.kind == "release_quarantine" and released.undo_of == quarantine.id
    assert dry.applied[-1] == f"delete element inet iotwarden_quarantine q_mac {{ {CAMERA_MAC} }}\n" \
                              f"delete element inet iotwarden_quarantine q_ip4 {{ {CAMERA_IP} }}\n"
    with pytest.raises(ConfigError, match="already undone by user:alice"):
        engine.undo(quarantine.id, actor="user:alice")
    with pytest.raises(ConfigError, match=r"revocation is permanent.*issue the device a new certificate"):
        engine.undo(revoke.id, actor="user:alice")
    with pytest.raises(ConfigError, match="cannot be recalled"):
        engine.undo(notify.id, actor="user:alice")
    engine.undo(tag.id, actor="user:alice")
    engine.undo(case.id, actor="user:alice")
    with store.session() as session:
        assert session.query(DeviceTagRow).count() == 0
        closed = cases.to_case(session, cases.get_row(session, case.result["case_id"]))
        logged = {a.id: a for a in list_actions(session)}
    assert closed.status == "closed" and closed.phase == cases.POST_INCIDENT
    assert [e["text"] for e in closed.timeline if e["kind"] == "action"][-3:] == [
        "release_quarantine done", "untag_device done", "close_case done"]
    assert logged[quarantine.id].undone_by == "user:alice" and logged[revoke.id].undone_at is None
    with pytest.raises(ConfigError, match="no action with id 999"):
        engine.undo(999, actor="user:alice")


def test_a_playbook_handles_an_alert_once_and_joins_the_open_case(store: Store, receiver: Receiver,
                                                                  dry: DryRunEnforcer) -> None:
    engine = ResponseEngine(store, contain(receiver.url), enforcer=dry)
    first = engine.respond(mirai_alert())
    assert engine.respond(mirai_alert()) == []  # same alert again: nothing repeats
    later = mirai_alert()
    later.first_seen += 7200
    later.uid = "another-alert"
    second = engine.respond(later)
    assert second[3].result == {"case_id": first[3].result["case_id"], "opened": False,
                                "note": f"the alert joined case {first[3].result['case_id']}, already open for "
                                        "this device"}
    assert not second[3].reversible and second[4].result["added"] is False
    with pytest.raises(ConfigError, match="joined case"):
        engine.undo(second[3].id, actor="user:alice")


def test_run_stored_answers_the_new_alerts_in_the_store(store: Store, receiver: Receiver, dry: DryRunEnforcer) -> None:
    with store.transaction() as session:
        upsert_alerts(session, [mirai_alert(), mirai_alert(PLC_KEY, PLC_IP)])
    engine = ResponseEngine(store, contain(receiver.url), enforcer=dry)
    done = engine.run_stored()
    assert sorted({a.device_key for a in done}) == sorted({CAMERA_KEY, PLC_KEY})
    assert engine.run_stored() == []


def test_the_monitor_hook_never_raises_and_counts_failures(store: Store, dry: DryRunEnforcer,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*_a: Any, **_k: Any) -> Delivery:
        return Delivery(False, None, 2, error="connection refused")

    engine = ResponseEngine(store, contain("http://127.0.0.1:9/"), enforcer=dry, notify=down)
    engine.on_alert(mirai_alert())
    with store.session() as session:
        statuses = {a.kind: a.status for a in list_actions(session)}
    assert statuses["notify_webhook"] == "failed"
    monkeypatch.setattr(engine, "_claim", lambda *_a: (_ for _ in ()).throw(ConfigError("store down")))
    engine.on_alert(mirai_alert())
    assert engine.errors == 1


def test_suppressed_alerts_and_unknown_devices(store: Store, dry: DryRunEnforcer, receiver: Receiver) -> None:
    engine = ResponseEngine(store, contain(receiver.url), enforcer=dry)
    hushed = mirai_alert()
    hushed.suppressed = True
    assert engine.respond(hushed) == []
    stranger = mirai_alert("ip:10.10.20.200", "10.10.20.200")  # not in the inventory: the alert's facts serve
    assert engine.respond(stranger)[0].params["target"] == {"key": "ip:10.10.20.200", "mac": None,
                                                            "ips": ["10.10.20.200"]}


def test_a_signed_webhook_carries_the_hmac_and_the_log_never_the_secret(store: Store, receiver: Receiver,
                                                                         dry: DryRunEnforcer) -> None:
    secret = "a-site-secret-of-enough-length"
    pb = parse_playbooks([{"name": "tell", "trigger": {"detector": "detect.scan.*"},
                           "actions": [{"notify_webhook": {"url": receiver.url, "secret": secret}}]}])
    [done] = ResponseEngine(store, pb, enforcer=dry).respond(mirai_alert())
    assert done.status == "done" and done.params["secret"] == "<redacted>"
    assert receiver.headers[0][notify.SIGNATURE_HEADER] == notify.signature(secret, receiver.bodies[0])


def test_the_handled_alerts_table_keeps_only_the_newest_rows_up_to_its_limit(store: Store,
                                                                              dry: DryRunEnforcer) -> None:
    pb = parse_playbooks([{"name": "tag", "trigger": {"detector": "detect.scan.*"},
                           "actions": [{"tag_device": {"tag": "seen"}}]}])
    engine = ResponseEngine(store, pb, enforcer=dry, max_handled=3)
    assert engine_default_limit_is_documented()
    for i in range(5):
        alert = mirai_alert()
        alert.uid = f"alert-{i}"
        assert engine.respond(alert)
    with store.session() as session:
        kept = session.scalars(select(HandledRow.alert_uid).order_by(HandledRow.id)).all()
    assert kept == ["alert-2", "alert-3", "alert-4"]  # at the limit, the oldest went first
    again = mirai_alert()
    again.uid = "alert-4"
    assert engine.respond(again) == []  # a remembered alert is still handled once


def engine_default_limit_is_documented() -> bool:
    return ResponseEngine.__init__.__kwdefaults__["max_handled"] == MAX_HANDLED > MAX_ALERTS_PER_RUN
