"""Embedded private keys and certificates: PEM blocks (RFC 7468) in files of the image; a private key
shipped in firmware is shared by every device that runs it."""

from __future__ import annotations

import re

from iotwarden.firmware.hardening.base import Context, finding
from iotwarden.model.finding import Finding

PRIVATE_KEY = "firmware.hardening.private_key"
CERTIFICATE = "firmware.hardening.certificate"
CHECK_IDS = (PRIVATE_KEY, CERTIFICATE)
MAX_SCAN_BYTES = 4 * 1024 * 1024  # files larger than this are not searched for PEM blocks
# RFC 7468 §2 labels: "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", ...
PEM_PRIVATE = re.compile(rb"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----\r?\n[A-Za-z0-9+/=\r\n:,\-]{64,}?-----END ")
PEM_CERT = re.compile(rb"-----BEGIN (CERTIFICATE|TRUSTED CERTIFICATE)-----\r?\n[A-Za-z0-9+/=\r\n]{64,}?-----END ")
CA_BUNDLES = ("/etc/ssl/certs/", "/usr/share/ca-certificates/", "/etc/pki/")  # public trust anchors


def run(ctx: Context) -> list[Finding]:
    keys: dict[str, set[str]] = {}
    certs: list[str] = []
    for f in ctx.regular():
        if f.size == 0 or f.size > MAX_SCAN_BYTES:
            continue
        try:
            data = f.host.read_bytes()
        except OSError:
            continue
        if b"-----BEGIN " not in data:
            continue
        for m in PEM_PRIVATE.finditer(data):
            keys.setdefault(f.path, set()).add(m.group(1).decode("ascii"))
        if PEM_CERT.search(data) and not f.fs_path.startswith(CA_BUNDLES):
            certs.append(f.path)
    out: list[Finding] = []
    if keys:
        out.append(
            finding(
                PRIVATE_KEY,
                "Private keys are embedded in the image",
                "high",
                ctx,
                paths=list(keys),
                kinds=sorted({k for v in keys.values() for k in v}),
                remediation="Generate keys on the device at first boot or provision them per device; rotate the "
                "exposed ones.",
                references=["https://cwe.mitre.org/data/definitions/321.html"],
            )
        )
    if certs:
        out.append(
            finding(
                CERTIFICATE,
                "Certificates are embedded in the image",
                "info",
                ctx,
                paths=certs,
                remediation="Check that no certificate is a device identity shared by every unit.",
                references=["https://www.rfc-editor.org/rfc/rfc7468"],
            )
        )
    return out
