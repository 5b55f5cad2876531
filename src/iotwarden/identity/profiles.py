"""Certificate profiles: what a root CA, an issuing CA, a device, a bootstrap and a server certificate
contain (RFC 5280 §4.2 extensions, lifetimes), and how a device subject is built from its identity.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from iotwarden.errors import IdentityError
from iotwarden.identity import defaults

MAX_SANS = 16  # subjectAltName entries accepted in one request (RFC 5280 §4.2.1.6)
MAX_NAME_CHARS = 64  # X.520 ub-common-name / ub-serial-number (RFC 5280 Appendix A.1)
_ID_CHARS = re.compile(r"^[A-Za-z0-9._:@+=-]+$")  # device ids become MQTT usernames and file names
# a dNSName in "preferred name syntax" (RFC 5280 §4.2.1.6, RFC 1034 §3.5 as relaxed by RFC 1123 §2.1):
# letters, digits and inner hyphens, labels of 1-63, at most 253 in all; IDNs as A-labels; a wildcard only
# as the whole leftmost label (RFC 6125 §6.4.3)
_DNS_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
MAX_DNS_NAME = 253


@dataclass(frozen=True, slots=True)
class Profile:
    """One kind of certificate. ``lifetime_days`` is the validity period (RFC 5280 §4.1.2.5);
    ``path_length`` applies to CA profiles only (basicConstraints, §4.2.1.9)."""

    name: str
    lifetime_days: int
    is_ca: bool = False
    path_length: int | None = None
    client_auth: bool = False  # extendedKeyUsage id-kp-clientAuth (§4.2.1.12)
    server_auth: bool = False  # extendedKeyUsage id-kp-serverAuth
    enrol_only: bool = False  # may authenticate an EST simpleenroll and nothing else (bootstrap)
    device_keys: bool = False  # certifies a key a device made: the CA's device key policy applies (keypolicy.py)

    def key_usage(self, rsa_key: bool) -> x509.KeyUsage:
        """keyUsage (§4.2.1.3): everyone signs (CAs also their OCSP responses, RFC 6960 §4.2.2.2),
        CAs sign certificates and CRLs, RSA leaves also encipher keys (RSA key transport in TLS 1.2)."""
        return x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=rsa_key and not self.is_ca,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=self.is_ca,
            crl_sign=self.is_ca,
            encipher_only=False,
            decipher_only=False,
        )

    def extended_key_usage(self) -> x509.ExtendedKeyUsage | None:
        usages = []
        if self.client_auth:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        if self.server_auth:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        return x509.ExtendedKeyUsage(usages) if usages else None


ROOT_CA = Profile("root-ca", lifetime_days=3650, is_ca=True, path_length=1)
ISSUING_CA = Profile("issuing-ca", lifetime_days=1825, is_ca=True, path_length=0)
DEVICE = Profile("device", lifetime_days=90, client_auth=True, device_keys=True)
BOOTSTRAP = Profile("bootstrap", lifetime_days=30, client_auth=True, enrol_only=True, device_keys=True)
SERVER = Profile("server", lifetime_days=397, server_auth=True)
PROFILES: dict[str, Profile] = {p.name: p for p in (ROOT_CA, ISSUING_CA, DEVICE, BOOTSTRAP, SERVER)}
LEAF_PROFILES = defaults.LEAF_PROFILES  # one definition, which the CLI shows without importing cryptography


def get(name: str) -> Profile:
    """The leaf profile called ``name``; :class:`IdentityError` for an unknown or CA profile."""
    if name not in LEAF_PROFILES:
        raise IdentityError(f"unknown certificate profile {name!r}: one of {', '.join(LEAF_PROFILES)}")
    return PROFILES[name]


def check_device_id(device_id: str) -> str:
    """A device id usable as certificate CN, MQTT username and file name, else :class:`IdentityError`."""
    if not device_id or len(device_id) > MAX_NAME_CHARS or not _ID_CHARS.match(device_id):
        raise IdentityError(
            f"invalid device id {device_id!r}: 1-{MAX_NAME_CHARS} characters of A-Z a-z 0-9 . _ : @ + = -"
        )
    return device_id


def device_subject(device_id: str, *, serial: str | None = None, model: str | None = None,
                   organization: str | None = None) -> x509.Name:
    """Subject of a device certificate: CN = device id, serialNumber (X.520 2.5.4.5) = hardware
    serial, OU = model, O = the operating organisation."""
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, check_device_id(device_id))]
    for oid, value in ((NameOID.SERIAL_NUMBER, serial), (NameOID.ORGANIZATIONAL_UNIT_NAME, model),
                       (NameOID.ORGANIZATION_NAME, organization)):
        if value:
            if len(value) > MAX_NAME_CHARS:
                raise IdentityError(f"subject value {value[:20]!r}... longer than {MAX_NAME_CHARS} characters")
            attrs.append(x509.NameAttribute(oid, value))
    return x509.Name(attrs)


def device_sans(*, dns: list[str] | tuple[str, ...] = (), ips: list[str] | tuple[str, ...] = (),
                mac: str | None = None) -> list[x509.GeneralName]:
    """subjectAltName entries: DNS names, IP addresses and the device's MAC as a device URN
    (``urn:dev:mac:`` + 12 hex digits, RFC 9039 §3.1)."""
    names: list[x509.GeneralName] = [x509.DNSName(check_dns_name(d)) for d in dns]
    for ip in ips:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(ip)))
        except ValueError:
            raise IdentityError(f"invalid IP address {ip!r} for subjectAltName") from None
    if mac:
        digits = re.sub(r"[^0-9a-fA-F]", "", mac).lower()
        if len(digits) != 12:
            raise IdentityError(f"invalid MAC address {mac!r}")
        names.append(x509.UniformResourceIdentifier(f"urn:dev:mac:{digits}"))
    if len(names) > MAX_SANS:
        raise IdentityError(f"more than {MAX_SANS} subjectAltName entries")
    return names


def check_dns_name(name: str) -> str:
    """``name`` if it is a DNS name a certificate may carry (see ``_DNS_LABEL``); IdentityError otherwise."""
    labels = name.removesuffix(".").split(".")
    if labels[0] == "*" and len(labels) > 2:
        labels = labels[1:]
    if len(name) > MAX_DNS_NAME or not all(_DNS_LABEL.match(label) for label in labels):
        raise IdentityError(f"invalid DNS name {name!r} for subjectAltName (letters, digits and inner hyphens, "
                            f"labels of 1 to 63, at most {MAX_DNS_NAME} characters)")
    return name


def check_location(url: str, what: str, schemes: tuple[str, ...]) -> str:
    """``url`` if it is an absolute URI of one of ``schemes`` naming a host, as relying parties fetch a
    CRL (RFC 5280 §4.2.1.13: HTTP or LDAP) or ask an OCSP responder (§4.2.2.1: HTTP); IdentityError
    otherwise, before it is written into every certificate issued."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is no number raises ValueError here
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in schemes or not parts.hostname or any(c.isspace() for c in url):
        raise IdentityError(f"{what}: not a URL of scheme {'/'.join(schemes)} naming a host: {url!r}")
    return url


def common_name(name: x509.Name) -> str | None:
    """The first CN of ``name`` as text, or None."""
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else None
