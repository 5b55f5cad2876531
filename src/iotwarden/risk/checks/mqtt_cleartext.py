"""risk.mqtt.cleartext: MQTT credentials (CONNECT username/password, MQTT 3.1.1 §3.1.3.4-5) sent
without TLS, e.g. on the plain port 1883 instead of 8883 (IANA "secure-mqtt")."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check
from iotwarden.risk.subjects import endpoint_of


class MqttCleartext(Check):
    """The broker that received a username or password in a cleartext CONNECT (the dissector only
    reads unencrypted MQTT, so any CONNECT it saw crossed the network in the clear)."""

    id: ClassVar[str] = "risk.mqtt.cleartext"
    title: ClassVar[str] = "MQTT credentials sent in cleartext"
    severity: ClassVar[Severity] = "high"
    remediation: ClassVar[str] = ("Move clients to MQTT over TLS (port 8883) with certificate verification, "
                                  "close port 1883 on the broker, and change the passwords that were exposed.")
    references: ClassVar[tuple[str, ...]] = (ref.NIST_DATA_PROTECTION, ref.ETSI_PROTECT_CREDENTIALS,
                                             ref.CWE_CLEARTEXT, "MQTT 3.1.1 §5.4.1")
    protos: ClassVar[frozenset[str]] = frozenset({"mqtt"})

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.kind != "connect":
            return
        user = obs.fields.get("username")
        if not user and not obs.fields.get("password_present"):
            return
        self.hit(endpoint_of(obs, "dst"), obs.ts, clients=obs.src_ip or "", usernames=str(user) if user else [],
                 ports=str(obs.dst_port or ""), password_sent="yes" if obs.fields.get("password_present") else "no")
