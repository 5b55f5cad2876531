"""Certificates seen in traffic, matched to the ones our CA issued: an analyzer addon that turns the
TLS dissector's ``certificate`` observations into findings (unknown, revoked, expired, self-signed,
shared) and records which device presented which issued certificate (the inventory link).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from typing import Any

from iotwarden.hooks import Context
from iotwarden.identity.records import IssuedCert
from iotwarden.model import Observation
from iotwarden.model.finding import Finding, Severity

UNKNOWN, REVOKED, EXPIRED, SELF_SIGNED, SHARED = (
    "identity.cert.unknown", "identity.cert.revoked", "identity.cert.expired",
    "identity.cert.self_signed", "identity.cert.shared")
MAX_TRACKED_CERTS = 10_000  # distinct leaf certificates remembered for the "shared" check
MAX_HOLDERS_PER_CERT = 64  # device keys remembered per certificate
MAX_FINDINGS = 10_000  # findings kept per run; later ones are counted in ``dropped``
# only certificates presented by hosts in these networks are judged (not internet servers)
DEFAULT_LOCAL_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
                          "fc00::/7", "fe80::/10", "100.64.0.0/10")
_REFS = ["RFC 5280 §4.1.2.5", "RFC 5280 §6.1.3"]

_TEXT: dict[str, tuple[str, Severity, str]] = {
    UNKNOWN: ("Device presents a certificate the device CA did not issue", "low",
              "Enrol the device with the device CA (EST) and replace the certificate."),
    REVOKED: ("Device presents a revoked certificate", "high",
              "Re-enrol the device with a new key; find out why it still uses the revoked certificate."),
    EXPIRED: ("Device presents an expired certificate", "medium",
              "Renew the certificate (EST simplereenroll) and schedule rotation before expiry."),
    SELF_SIGNED: ("Device presents a self-signed certificate", "medium",
                  "Replace the vendor default certificate with one from the device CA."),
    SHARED: ("Several devices present the same certificate", "high",
             "Give each device its own key and certificate; a shared key is a shared identity."),
}


def _device_key(obs: Observation) -> str | None:
    if obs.subject_mac:
        return f"mac:{obs.subject_mac}"
    return f"ip:{obs.subject_ip}" if obs.subject_ip else None


def _epoch(iso: Any) -> float | None:
    if not isinstance(iso, str):
        return None
    try:
        return dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        return None


class TrafficCertificateCheck:
    """Addon: judges leaf certificates presented by local hosts against the issued ones.

    ``issued`` are the CA's records (from ``repo.list_certificates()``); ``our_issuer`` is the
    issuing CA's subject (RFC 4514) so a certificate claiming our issuer but unknown to us stands out.
    After a run, ``links`` maps issued serials to the device keys that presented them.
    """

    name = "identity.traffic"

    def __init__(self, issued: Iterable[IssuedCert], our_issuer: str | None = None,
                 local_networks: Iterable[str] = DEFAULT_LOCAL_NETWORKS) -> None:
        self.by_sha256 = {c.sha256: c for c in issued}
        self.our_issuer = our_issuer
        self.local = [ipaddress.ip_network(n) for n in local_networks]
        self.holders: dict[str, set[str]] = {}
        self.links: dict[str, str] = {}
        self.findings: dict[tuple[str, str, str], Finding] = {}
        self.dropped = 0

    def _is_local(self, ip: str | None) -> bool:
        if ip is None:
            return False
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self.local if net.version == addr.version)

    def _find(self, fid: str, subject: str, sha256: str, ts: float, evidence: dict[str, Any], *,
              severity: Severity | None = None) -> None:
        key = (fid, subject, sha256)
        finding = self.findings.get(key)
        if finding is None:
            if len(self.findings) >= MAX_FINDINGS:
                self.dropped += 1
                return
            title, default_severity, remediation = _TEXT[fid]
            finding = Finding(fid, title, severity or default_severity, subject, evidence, remediation, list(_REFS))
            self.findings[key] = finding
        finding.seen(ts)

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.proto != "tls" or obs.kind != "certificate" or not self._is_local(obs.subject_ip):
            return
        certs = obs.fields.get("certs")
        leaf = certs[0] if isinstance(certs, list) and certs and isinstance(certs[0], dict) else None
        device = _device_key(obs)
        if leaf is None or device is None or "sha256" not in leaf or "error" in leaf:
            return
        sha = str(leaf["sha256"])
        evidence = {k: leaf.get(k) for k in ("subject", "issuer", "serial", "not_before", "not_after", "sha256",
                                              "san_dns", "san_ip")}
        evidence["ip"] = obs.subject_ip
        evidence["port"] = obs.src_port if obs.subject == "src" else obs.dst_port
        issued = self.by_sha256.get(sha)
        if issued is None:
            ours = self.our_issuer is not None and leaf.get("issuer") == self.our_issuer
            self._find(UNKNOWN, device, sha, obs.ts, evidence, severity="high" if ours else None)
        else:
            self.links.setdefault(issued.serial, device)
            if issued.status == "revoked":
                self._find(REVOKED, device, sha, obs.ts, {**evidence, "reason": issued.reason})
        not_after = _epoch(leaf.get("not_after"))
        if not_after is not None and not_after < obs.ts:
            self._find(EXPIRED, device, sha, obs.ts, evidence)
        if leaf.get("self_signed"):
            self._find(SELF_SIGNED, device, sha, obs.ts, evidence)
        self._track(device, sha, obs.ts, evidence)

    def _track(self, device: str, sha: str, ts: float, evidence: dict[str, Any]) -> None:
        held = self.holders.get(sha)
        if held is None:
            if len(self.holders) >= MAX_TRACKED_CERTS:
                return
            held = self.holders[sha] = set()
        if device not in held and len(held) < MAX_HOLDERS_PER_CERT:
            held.add(device)
        if len(held) > 1:
            for holder in held:
                self._find(SHARED, holder, sha, ts, {**evidence, "holders": sorted(held)})
                found = self.findings.get((SHARED, holder, sha))
                if found is not None:
                    found.evidence["holders"] = sorted(held)

    def done(self, ctx: Context) -> None:
        ctx.findings.extend(self.findings.values())
