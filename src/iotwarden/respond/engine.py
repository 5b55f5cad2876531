"""The response engine: runs playbooks on new alerts (a monitor subscriber, or over the alerts in the
store), executes their actions through the quarantine enforcer, the device CA, webhooks, cases and
tags, logs every action, and undoes the reversible ones. OT devices get notify-only by default.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from iotwarden.errors import ConfigError, IotwardenError
from iotwarden.model.alert import Alert
from iotwarden.respond import cases
from iotwarden.respond.actions import UNDO_KINDS, ActionRecord, check_undoable, get_action, log_action
from iotwarden.respond.notify import Delivery, post_json
from iotwarden.respond.playbook import Action, DeviceFacts, Playbook
from iotwarden.respond.quarantine import QuarantineEnforcer, QuarantineTarget
from iotwarden.store import Store
from iotwarden.store.alerts import list_alerts
from iotwarden.store.respond_models import ActionRow, CaseRow, DeviceTagRow, HandledRow
from iotwarden.store.schema import DeviceRow

if TYPE_CHECKING:
    from iotwarden.identity.ca import DeviceCA

log = logging.getLogger(__name__)
MAX_ALERTS_PER_RUN = 10_000  # stored alerts one ``run_stored`` looks at (newest first)
# rows of table response_handled (which playbook already ran on which alert) kept; past it the oldest go.
# Larger than MAX_ALERTS_PER_RUN times a site's playbooks, so that run_stored never sees an alert whose
# record was pruned (it reads only the newest MAX_ALERTS_PER_RUN alerts).
MAX_HANDLED = 1_000_000
MAX_NOTIFY_FLOWS = 4  # evidence flows/observations of the alert put in a webhook notification
# the NIST SP 800-61 phase each action's timeline entry belongs to
PHASE_OF = {"quarantine": cases.CONTAINMENT, "revoke_certificate": cases.CONTAINMENT,
            "notify_webhook": cases.DETECTION, "open_case": cases.DETECTION, "tag_device": cases.DETECTION,
            "release_quarantine": cases.CONTAINMENT, "close_case": cases.POST_INCIDENT,
            "untag_device": cases.CONTAINMENT}
Notifier = Callable[..., Delivery]


def facts_from_row(row: DeviceRow) -> DeviceFacts:
    return DeviceFacts(key=row.key, mac=row.mac, ips=tuple(sorted(row.ips or [])), category=row.category,
                       device_type=row.device_type, vendor=row.vendor)


def facts_from_alert(alert: Alert) -> DeviceFacts:
    """What the alert alone says about its device (when the inventory does not know it yet)."""
    mac = alert.subject.removeprefix("mac:") if alert.subject.startswith("mac:") else None
    ip = alert.subject.removeprefix("ip:") if alert.subject.startswith("ip:") else alert.src_ip
    return DeviceFacts(key=alert.subject, mac=mac, ips=(ip,) if ip else ())


@dataclass
class _Run:
    """One playbook on one alert: the case it opened or joined and the actions logged so far."""

    playbook: Playbook
    alert: Alert
    device: DeviceFacts
    case_id: int | None = None
    logged: list[int] = field(default_factory=list)  # ids of the ActionRows logged, in order
    summary: list[dict[str, str]] = field(default_factory=list)  # their kind and status


class ResponseEngine:
    """Runs ``playbooks`` against alerts; ``enforcer`` quarantines (``enforcers`` by name for playbooks
    that ask for one with ``quarantine: {via: table|policy}``), ``ca`` (optional) revokes."""

    def __init__(self, store: Store, playbooks: Iterable[Playbook], *, enforcer: QuarantineEnforcer,
                 enforcers: Mapping[str, QuarantineEnforcer] | None = None,
                 ca: DeviceCA | None = None, notify: Notifier = post_json,
                 clock: Callable[[], float] = time.time, max_handled: int = MAX_HANDLED) -> None:
        self.store, self.playbooks = store, [p for p in playbooks if p.enabled]
        self.max_handled = max_handled
        self.enforcer, self.ca, self.notify, self.clock = enforcer, ca, notify, clock
        self.enforcers = dict(enforcers or {})
        self.errors = 0  # alerts whose handling failed outside any single action (store down...)

    # --- entry points ----------------------------------------------------------------------------------

    def on_alert(self, alert: Alert) -> list[ActionRecord]:
        """Subscriber for :class:`iotwarden.services.monitor.Monitor` (``on_alert``): never raises; the
        actions taken (none when the response failed, counted in :attr:`errors`)."""
        try:
            return self.respond(alert)
        except IotwardenError as exc:
            self.errors += 1
            log.warning("response to alert %s failed: %s", alert.uid or alert.id, exc)
            return []

    def run_stored(self, *, limit: int = MAX_ALERTS_PER_RUN) -> list[ActionRecord]:
        """Run the playbooks over the stored new (unsuppressed) alerts that they have not handled yet."""
        with self.store.session() as session:
            alerts = list_alerts(session, status="new", limit=limit)
        out: list[ActionRecord] = []
        for alert in reversed(alerts):  # oldest first: actions happen in the order alerts arose
            out.extend(self.respond(alert))
        return out

    def respond(self, alert: Alert, device: DeviceFacts | None = None) -> list[ActionRecord]:
        """Run every enabled playbook whose trigger matches ``alert`` once; the actions logged."""
        if alert.suppressed:
            return []
        if device is None:
            with self.store.session() as session:
                row = session.scalars(select(DeviceRow).where(DeviceRow.key == alert.subject)).first()
                device = facts_from_row(row) if row is not None else facts_from_alert(alert)
        out: list[ActionRecord] = []
        uid = alert.uid or f"{alert.id}|{alert.subject}|{alert.key}|{alert.first_seen}"
        for pb in self.playbooks:
            if not pb.trigger.matches(alert, device) or not self._claim(uid, pb.name):
                continue
            run = _Run(pb, alert, device)
            for action, skip in pb.actions_for(device):
                self._step(run, action, skip, uid)
            with self.store.session() as session:
                out.extend(ActionRecord.from_row(get_action(session, i)) for i in run.logged)
        return out

    def _claim(self, uid: str, playbook: str) -> bool:
        """Record that ``playbook`` handles alert ``uid``; False when it already did."""
        with self.store.transaction() as session:
            seen = session.scalars(select(HandledRow.id).where(HandledRow.alert_uid == uid,
                                                               HandledRow.playbook == playbook)).first()
            if seen is not None:
                return False
            row = HandledRow(alert_uid=uid, playbook=playbook, handled_at=self.clock())
            session.add(row)
            session.flush()
            # ids grow with every claim: one indexed delete keeps the newest max_handled rows
            session.execute(delete(HandledRow).where(HandledRow.id <= row.id - self.max_handled))
        return True

    # --- one action --------------------------------------------------------------------------------------

    def _step(self, run: _Run, action: Action, skip: str | None, uid: str) -> None:
        params = dict(action.params)
        status, result, reversible = "skipped", {"reason": skip}, False
        if skip is None:
            try:
                status, result, reversible = getattr(self, f"_do_{action.kind}")(run, params)
            except IotwardenError as exc:
                status, result = "failed", {"error": str(exc)}
        with self.store.transaction() as session:
            row = log_action(session, ts=self.clock(), actor=f"playbook:{run.playbook.name}", kind=action.kind,
                             params=params, status=status, result=result, reversible=reversible,
                             playbook=run.playbook.name, alert_uid=uid, device_key=run.device.key)
            run.logged.append(row.id)
            run.summary.append({"kind": row.kind, "status": row.status})
            if run.case_id is not None:  # link every action of the run not linked yet (those before open_case too)
                case = cases.get_row(session, run.case_id)
                for action_id in run.logged:
                    earlier = get_action(session, action_id)
                    if earlier.case_id is None:
                        earlier.case_id = case.id
                        self._link(session, case, earlier)

    def _link(self, session: Session, case: CaseRow, row: ActionRow) -> None:
        text = f"{row.kind} {row.status}"
        if row.status != "done":
            text += f": {row.result.get('reason') or row.result.get('error') or ''}"
        cases.add_entry(session, case, "action", text, author=row.actor, now=row.ts, ref=str(row.id),
                        phase=PHASE_OF.get(row.kind, cases.DETECTION))

    def _target(self, device: DeviceFacts) -> QuarantineTarget:
        return QuarantineTarget(device.key, device.mac, device.ips)

    def _do_quarantine(self, run: _Run, params: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
        target = self._target(run.device)
        params["target"] = target.to_dict()
        enforcer = self._enforcer(params.get("via", "enforcer"))
        script = enforcer.apply(target)
        return "done", {"enforcer": type(enforcer).__name__, "netns": getattr(enforcer, "netns", None),
                        "policy": getattr(enforcer, "policy", None), "rules": script}, True

    def _enforcer(self, via: str) -> QuarantineEnforcer:
        if via == "enforcer":
            return self.enforcer
        if via not in self.enforcers:
            raise ConfigError(f"the playbook quarantines via {via!r}, and this run has no such enforcer "
                              "(iotwarden playbooks run --policy NAME gives 'policy')")
        return self.enforcers[via]

    def _releaser(self, name: str | None) -> QuarantineEnforcer:
        """The enforcer of the kind that applied a quarantine (its class name, as logged)."""
        return next((e for e in self.enforcers.values() if type(e).__name__ == name), self.enforcer)

    def _do_revoke_certificate(self, run: _Run, params: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
        from iotwarden.identity import crl, lifecycle  # noqa: PLC0415 - cryptography: loaded with the CA opened

        if self.ca is None:
            raise ConfigError("no device CA opened: cannot revoke certificates")
        held = self.ca.repo.list_certificates(device_key=run.device.key, status="valid")
        if not held:
            return "skipped", {"reason": "the device holds no valid certificate of this CA"}, False
        revoked = [lifecycle.revoke(self.ca, c.serial, params["reason"], publish=False).serial for c in held]
        path = crl.publish(self.ca)  # one new CRL for all of them
        return "done", {"revoked": revoked, "crl": str(path), "note": "to restore, issue a new certificate"}, False

    def _do_notify_webhook(self, run: _Run, params: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
        alert = run.alert.to_dict()
        for name in ("flows", "observations"):
            alert[name] = alert[name][:MAX_NOTIFY_FLOWS]
        doc = {"event": "alert", "playbook": run.playbook.name, "alert": alert,
               "device": {"key": run.device.key, "mac": run.device.mac, "ips": list(run.device.ips),
                          "category": run.device.category, "device_type": run.device.device_type,
                          "vendor": run.device.vendor},
               "case_id": run.case_id, "actions": list(run.summary)}
        delivery = self.notify(params["url"], doc, timeout_s=params["timeout_s"], retries=params["retries"],
                               headers=params.get("headers"), secret=params.get("secret"))
        return ("done" if delivery.ok else "failed"), delivery.to_dict(), False

    def _do_open_case(self, run: _Run, params: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
        now, author = self.clock(), f"playbook:{run.playbook.name}"
        with self.store.transaction() as session:
            case = cases.open_for_device(session, run.device.key)
            opened = case is None
            if case is None:
                title = str(params.get("title") or "{title}").format_map(
                    {"device": run.device.key, "detector": run.alert.id, "title": run.alert.title})
                case = cases.open_case(session, title, author=author, now=now,
                                       severity=params.get("severity", run.alert.severity), device_key=run.device.key)
            cases.add_entry(session, case, "alert", f"{run.alert.id}: {run.alert.title}", author=author, now=now,
                            ref=run.alert.uid or None, phase=cases.DETECTION)
            run.case_id = case.id
        result: dict[str, Any] = {"case_id": case.id, "opened": opened}
        if not opened:
            result["note"] = f"the alert joined case {case.id}, already open for this device"
        return "done", result, opened

    def _do_tag_device(self, run: _Run, params: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
        with self.store.transaction() as session:
            known = session.scalars(select(DeviceTagRow).where(DeviceTagRow.device_key == run.device.key,
                                                               DeviceTagRow.tag == params["tag"])).first()
            if known is None:
                session.add(DeviceTagRow(device_key=run.device.key, tag=params["tag"], added_at=self.clock(),
                                         added_by=f"playbook:{run.playbook.name}"))
        if known is not None:
            return "done", {"added": False, "note": "the device already had this tag"}, False
        return "done", {"added": True}, True

    # --- undo --------------------------------------------------------------------------------------------

    def undo(self, action_id: int, *, actor: str) -> ActionRecord:
        """Reverse a logged action (release a quarantine, close the case it opened, remove the tag)."""
        with self.store.session() as session:
            row = get_action(session, action_id)
            check_undoable(row)
            kind, params, result, case_id = row.kind, dict(row.params), dict(row.result), row.case_id
        now = self.clock()
        if kind == "quarantine":
            t = params["target"]
            releaser = self._releaser(result.get("enforcer"))
            script = releaser.release(QuarantineTarget(t["key"], t.get("mac"), tuple(t.get("ips") or ())))
            outcome: dict[str, Any] = {"enforcer": type(releaser).__name__, "rules": script}
        elif kind == "open_case":
            with self.store.transaction() as session:
                cases.close(session, int(result["case_id"]), author=actor, now=now,
                            reason=f"undo of action {action_id}")
            outcome = {"case_id": result["case_id"]}
        else:  # tag_device
            with self.store.transaction() as session:
                session.execute(delete(DeviceTagRow).where(DeviceTagRow.device_key == row.device_key,
                                                           DeviceTagRow.tag == params["tag"]))
            outcome = {"tag": params["tag"]}
        with self.store.transaction() as session:
            original = get_action(session, action_id)
            original.undone_at, original.undone_by = now, actor
            undo = log_action(session, ts=now, actor=actor, kind=UNDO_KINDS[kind], params={"action": action_id},
                              status="done", result=outcome, playbook=original.playbook,
                              alert_uid=original.alert_uid, device_key=original.device_key, case_id=case_id,
                              undo_of=action_id)
            if case_id is not None:
                self._link(session, cases.get_row(session, case_id), undo)
            return ActionRecord.from_row(undo)
