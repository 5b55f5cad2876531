"""Alerts as STIX 2.1 bundles (OASIS STIX Version 2.1, 2021), built and validated with ``stix2``.

Per alert: an ``indicator`` (the detector, with a pattern over the addresses involved, §4.7), an
``observed-data`` over ``ipv4-addr``/``ipv6-addr`` objects (§4.14), a ``sighting`` of the indicator
by the sensor's ``identity`` (§5.2, §4.5) counting the alert's repeats, and an ``infrastructure``
object for the device concerned (§4.8). ATT&CK technique ids go in external references.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stix2

from iotwarden.errors import ConfigError
from iotwarden.model.alert import Alert

NAMESPACE = uuid.UUID("6f1c2b1e-2a4b-5d1a-9c8e-0e7a1d2c3b4f")  # iotwarden's namespace for stable ids
MAX_ALERTS_PER_BUNDLE = 10_000


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _sid(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, '|'.join(parts))}"


def _addr(ip: str) -> Any:
    version = ipaddress.ip_address(ip).version
    return stix2.IPv4Address(value=ip) if version == 4 else stix2.IPv6Address(value=ip)


def _mitre_refs(alert: Alert) -> list[dict[str, str]]:
    refs = []
    for tech in alert.mitre:
        base, _, sub = tech.partition(".")
        url = f"https://attack.mitre.org/techniques/{base}/" + (f"{sub}/" if sub else "")
        refs.append({"source_name": "mitre-attack" if not base.startswith("T0") else "mitre-ics-attack",
                     "external_id": tech, "url": url})
    return refs


def alert_objects(alert: Alert, identity: Any) -> list[Any]:
    """The STIX objects of one alert (see the module docstring)."""
    addrs = [a for a in (alert.src_ip, alert.dst_ip) if a]
    scos = [_addr(a) for a in dict.fromkeys(addrs)]
    terms = [f"{o.type}:value = '{o.value}'" for o in scos]
    pattern = "[" + " OR ".join(terms) + "]" if terms else f"[x509-certificate:serial_number = '{alert.uid}']"
    created = _dt(alert.first_seen)
    indicator = stix2.Indicator(
        id=_sid("indicator", alert.id, alert.subject, alert.key), created=created, modified=created,
        name=alert.title, description=f"iotwarden detector {alert.id}", pattern=pattern, pattern_type="stix",
        valid_from=created, indicator_types=["malicious-activity" if alert.severity in ("high", "critical")
                                             else "anomalous-activity"],
        labels=[alert.id, alert.severity], external_references=_mitre_refs(alert) or None,
        created_by_ref=identity.id)
    objects: list[Any] = [indicator, *scos]
    observed_refs = []
    if scos:
        observed = stix2.ObservedData(id=_sid("observed-data", alert.uid), created=created, modified=created,
                                      first_observed=created, last_observed=_dt(max(alert.last_seen, alert.first_seen)),
                                      number_observed=max(1, alert.count), object_refs=[o.id for o in scos],
                                      created_by_ref=identity.id)
        objects.append(observed)
        observed_refs = [observed.id]
    infra = stix2.Infrastructure(id=_sid("infrastructure", alert.subject), created=created, modified=created,
                                 name=alert.subject, infrastructure_types=["unknown"],
                                 description="Device on the monitored network", created_by_ref=identity.id)
    last = _dt(alert.last_seen) if alert.last_seen > alert.first_seen else None
    sighting = stix2.Sighting(id=_sid("sighting", alert.uid), created=created, modified=created,
                              sighting_of_ref=indicator.id, first_seen=created, last_seen=last,
                              count=max(1, alert.count),
                              where_sighted_refs=[identity.id],
                              observed_data_refs=observed_refs or None, created_by_ref=identity.id)
    relation = stix2.Relationship(id=_sid("relationship", alert.uid), created=created, modified=created,
                                  relationship_type="indicates", source_ref=indicator.id, target_ref=infra.id,
                                  created_by_ref=identity.id)
    return [*objects, infra, sighting, relation]


def bundle(alerts: Iterable[Alert], *, sensor: str = "iotwarden") -> Any:
    """A validated STIX 2.1 bundle of ``alerts`` seen by the sensor named ``sensor``."""
    identity = stix2.Identity(id=_sid("identity", sensor), name=sensor, identity_class="system",
                              created=datetime(2024, 1, 1, tzinfo=UTC), modified=datetime(2024, 1, 1, tzinfo=UTC))
    objects: dict[str, Any] = {identity.id: identity}
    for i, alert in enumerate(alerts):
        if i >= MAX_ALERTS_PER_BUNDLE:
            break
        for obj in alert_objects(alert, identity):
            objects.setdefault(obj.id, obj)
    return stix2.Bundle(objects=list(objects.values()), allow_custom=False)


class StixFile:
    """Collects alerts and writes one bundle to ``path`` on close."""

    def __init__(self, path: Path, *, sensor: str = "iotwarden") -> None:
        self.path, self.sensor = path, sensor
        self.destination = f"stix+file://{path}"
        self._alerts: list[Alert] = []
        self._closed = False  # the bundle is written once: a second close (the CLI's stack after a failed finish)
        if not path.parent.is_dir():
            raise ConfigError(f"cannot write STIX bundle {path}: folder {path.parent} does not exist")

    def send(self, alert: Alert) -> None:
        if len(self._alerts) < MAX_ALERTS_PER_BUNDLE:
            self._alerts.append(alert)

    def discard(self) -> None:
        """Let go without writing: the run never started (what came after this exporter failed to open), so a
        bundle already at ``path``, a previous run's, is kept rather than replaced by an empty one."""
        self._alerts.clear()

    def close(self) -> None:
        """Write the bundle, once: closing again does nothing (a bundle written is not written over). A write that
        failed (OSError) may be tried again."""
        if self._closed:
            return
        data = json.loads(bundle(self._alerts, sensor=self.sensor).serialize())
        self.path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        self._closed = True
