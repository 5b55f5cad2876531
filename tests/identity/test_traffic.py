"""Certificates seen in traffic (TLS ``certificate`` observations, fields of dissect.x509info) matched
to the issued ones: findings for unknown, revoked, expired, self-signed and shared certificates."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from hypothesis import example, given, settings
from hypothesis import strategies as st

from iotwarden.dissect.x509info import describe
from iotwarden.hooks import Context
from iotwarden.identity import keystore, lifecycle, traffic
from iotwarden.identity.ca import DeviceCA
from iotwarden.model import Observation
from tests.identity.conftest import make_csr


def _obs(cert: x509.Certificate, mac: str, ip: str, ts: float) -> Observation:
    der = cert.public_bytes(serialization.Encoding.DER)
    return Observation(ts=ts, proto="tls", kind="certificate", src_mac=mac, src_ip=ip, src_port=8883,
                       dst_ip="10.0.0.1", dst_port=50000, fields={"certs": [describe(der)], "cert_count": 1})


def _self_signed(days_valid: float, now: float) -> x509.Certificate:
    key = keystore.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "IPCam default")])
    start = dt.datetime.fromtimestamp(now - 400 * 86400, dt.UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(start).not_valid_after(start + dt.timedelta(days=days_valid))
            .sign(key, hashes.SHA256()))


def _run(check: traffic.TrafficCertificateCheck, observations: list[Observation]) -> dict[tuple[str, str], object]:
    ctx = Context()
    for obs in observations:
        check.on_observation(ctx, obs)
    check.done(ctx)
    return {(f.id, f.subject): f for f in ctx.findings}


def test_issued_certificates_are_linked_and_bad_ones_found(ca: DeviceCA) -> None:
    now = ca.clock()
    ours, rec = ca.issue(make_csr("cam-1")[0])
    revoked, revoked_rec = ca.issue(make_csr("cam-2")[0])
    lifecycle.revoke(ca, revoked_rec.serial, "key_compromise", publish=False)
    vendor = _self_signed(100, now)  # expired 300 days ago
    check = traffic.TrafficCertificateCheck(ca.repo.list_certificates(), ca.issuing.subject.rfc4514_string())
    found = _run(check, [
        _obs(ours, "00:00:00:00:00:01", "10.0.0.11", now),
        _obs(revoked, "00:00:00:00:00:02", "10.0.0.12", now),
        _obs(vendor, "00:00:00:00:00:03", "10.0.0.13", now),
        _obs(vendor, "00:00:00:00:00:04", "10.0.0.14", now + 5),
    ])
    assert check.links == {rec.serial: "mac:00:00:00:00:00:01", revoked_rec.serial: "mac:00:00:00:00:00:02"}
    assert not any(subject == "mac:00:00:00:00:00:01" for _, subject in found)  # a good certificate: quiet
    assert (traffic.REVOKED, "mac:00:00:00:00:00:02") in found
    for mac in ("00:00:00:00:00:03", "00:00:00:00:00:04"):
        for fid in (traffic.UNKNOWN, traffic.EXPIRED, traffic.SELF_SIGNED, traffic.SHARED):
            assert (fid, f"mac:{mac}") in found
    shared = found[(traffic.SHARED, "mac:00:00:00:00:00:03")]
    assert shared.evidence["holders"] == ["mac:00:00:00:00:00:03", "mac:00:00:00:00:00:04"]  # type: ignore[attr-defined]
    assert shared.severity == "high"  # type: ignore[attr-defined]


def test_a_certificate_claiming_our_issuer_but_unknown_is_high(ca: DeviceCA, tmp_path: object) -> None:
    cert, rec = ca.issue(make_csr("cam-1")[0])
    check = traffic.TrafficCertificateCheck([], ca.issuing.subject.rfc4514_string())  # record "lost"
    found = _run(check, [_obs(cert, "00:00:00:00:00:01", "10.0.0.11", ca.clock())])
    assert found[(traffic.UNKNOWN, "mac:00:00:00:00:00:01")].severity == "high"  # type: ignore[attr-defined]
    assert rec.serial not in check.links


def test_internet_servers_and_other_protocols_are_ignored(ca: DeviceCA) -> None:
    vendor = _self_signed(100, ca.clock())
    check = traffic.TrafficCertificateCheck([])
    other = _obs(vendor, "00:00:00:00:00:09", "10.0.0.9", 1.0)
    other.proto = "http"
    assert _run(check, [_obs(vendor, "00:00:00:00:00:05", "93.184.216.34", 1.0), other]) == {}


def test_tracked_certificates_stop_at_the_limit(ca: DeviceCA, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(traffic, "MAX_TRACKED_CERTS", 2)
    check = traffic.TrafficCertificateCheck([])
    certs = [_self_signed(1000, ca.clock()) for _ in range(3)]
    _run(check, [_obs(c, f"00:00:00:00:00:0{i}", f"10.0.0.{i + 1}", 1.0) for i, c in enumerate(certs)])
    assert len(check.holders) == 2


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12),
                     st.sampled_from(["2020-01-01T00:00:00Z", "2999-01-01T00:00:00Z", "ab" * 32]))
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["sha256", "issuer", "subject", "serial", "not_after", "self_signed", "error", "san_dns", "x"]),
    inner, max_size=6), max_leaves=12)


@settings(max_examples=100, deadline=None)
@given(st.lists(_JSON, max_size=4))
@example([5])  # a certs field of the wrong type: TypeError (int is not subscriptable)
@example([{"sha256": "ab"}])  # a mapping, not a chain: KeyError (no item 0)
def test_any_certs_field_never_crashes_the_check(values: list[object]) -> None:
    """A certificate observation's fields are whatever a dissector or a Zeek log gave (STYLE 10): a ``certs``
    that is not a chain of mappings is no certificate, never an exception the addon manager has to count."""
    check = traffic.TrafficCertificateCheck([], "CN=Our CA")
    obs = [Observation(ts=1.7e9, proto="tls", kind="certificate", src_mac="00:11:22:33:44:55", src_ip="10.0.0.5",
                       src_port=8883, dst_ip="10.0.0.1", dst_port=50000, fields={"certs": v}) for v in values]
    _run(check, obs)
