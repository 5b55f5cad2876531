"""risk.mqtt.anonymous: an MQTT broker that clients reach without a username (MQTT 3.1.1 §3.1.2.8),
worse when its CONNACK accepts them (return code 0, §3.2.2.3)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Finding, Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check
from iotwarden.risk.subjects import SubjectIndex, endpoint_of

MAX_PENDING_CONNECTS = 10_000  # anonymous CONNECTs awaiting a CONNACK; past it the oldest counts as unanswered

ConnKey = tuple[str | None, int | None, str | None, int | None]  # client ip, port, broker ip, port


class MqttAnonymous(Check):
    """The broker (CONNECT's destination): high when its CONNACK accepted a CONNECT without username,
    medium when no CONNACK was seen. A refused CONNECT is no finding: the broker enforced authentication
    (MQTT 5 enhanced authentication, §4.12, also sends no username, and the broker decides)."""

    id: ClassVar[str] = "risk.mqtt.anonymous"
    title: ClassVar[str] = "MQTT broker accepts clients without authentication"
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = ("Require authentication on the broker (mosquitto: allow_anonymous false, a "
                                  "password file or client certificates) and restrict topics with ACLs.")
    references: ClassVar[tuple[str, ...]] = (ref.NIST_LOGICAL_ACCESS, ref.ETSI_AUTHENTICATED_CONFIG,
                                             ref.CWE_MISSING_AUTH, "MQTT 3.1.1 §5.4.1")
    protos: ClassVar[frozenset[str]] = frozenset({"mqtt"})

    def __init__(self) -> None:
        super().__init__()
        self.pending: dict[ConnKey, Observation] = {}  # anonymous CONNECTs awaiting their CONNACK

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        # a CONNECT whose credential flags were not seen (Zeek's mqtt_connect.log logs neither user name nor
        # password: sources/zeek_iot.py leaves both out) says nothing of authentication
        if obs.kind == "connect" and "password_present" in obs.fields and not obs.fields.get("username"):
            if len(self.pending) >= MAX_PENDING_CONNECTS:
                self._unanswered(self.pending.pop(next(iter(self.pending))))
            self.pending[(obs.src_ip, obs.src_port, obs.dst_ip, obs.dst_port)] = obs
        elif obs.kind == "connack":
            connect = self.pending.pop((obs.dst_ip, obs.dst_port, obs.src_ip, obs.src_port), None)
            if connect is not None and obs.fields.get("return_code", obs.fields.get("reason_code")) == 0:
                self._record(connect, "high", "yes")

    def _record(self, connect: Observation, severity: Severity, accepted: str) -> None:
        client_id = connect.fields.get("client_id")
        self.hit(endpoint_of(connect, "dst"), connect.ts, severity, clients=connect.src_ip or "",
                 client_ids=str(client_id) if client_id else [], accepted=accepted,
                 ports=str(connect.dst_port or ""))

    def _unanswered(self, connect: Observation) -> None:
        self._record(connect, "medium", "no answer seen")

    def findings(self, ctx: Context, subjects: SubjectIndex) -> list[Finding]:
        for connect in self.pending.values():
            self._unanswered(connect)
        self.pending.clear()
        return super().findings(ctx, subjects)
