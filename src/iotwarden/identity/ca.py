"""The device CA: a root and an issuing CA whose keys are encrypted at rest (passphrase-encrypted
PKCS#8 files) or never leave a PKCS#11 token, and certificate issuance from PKCS#10 requests (RFC 2986)
under a profile, each issuance recorded in the identity repository.

Folder layout: ``root.crt.pem``, ``root.key.pem``, ``issuing.crt.pem``, ``issuing.key.pem`` (no key
files for a token CA), ``chain.pem`` (issuing then root), ``ca.json`` (settings), ``crl.pem`` and
``crlnumber`` (see crl.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from iotwarden.errors import IdentityError, describe
from iotwarden.identity import keypolicy, keystore, profiles
from iotwarden.identity.keypolicy import KeyPolicy
from iotwarden.identity.keystore import KeyAlgorithm
from iotwarden.identity.profiles import Profile
from iotwarden.identity.records import IdentityRepository, IssuedCert
from iotwarden.identity.signing import Signer, sign_certificate
from iotwarden.identity.token import Token, TokenConfig, TokenKey

CLOCK_SKEW_S = 300  # not_before is back-dated this much so devices with a slow clock accept a new cert
MIN_RSA_BITS = 2048  # RSA keys in requests below this are refused (NIST SP 800-131A Rev. 2 §6)
ACCEPTED_CURVES = ("secp256r1", "secp384r1")  # EC request keys (RFC 5480 §2.1.1.1 named curves)
MAX_CSR_BYTES = 16 * 1024  # a DER PKCS#10 request larger than this is refused

ROOT_CERT, ROOT_KEY = "root.crt.pem", "root.key.pem"
ISSUING_CERT, ISSUING_KEY = "issuing.crt.pem", "issuing.key.pem"
CHAIN, SETTINGS = "chain.pem", "ca.json"

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


@dataclass(frozen=True, slots=True)
class CASettings:
    """Choices made at ``init`` and kept in ``ca.json``."""

    name: str = "iotwarden device CA"
    organization: str | None = None
    algorithm: KeyAlgorithm = keystore.DEFAULT_ALGORITHM
    crl_url: str | None = None  # cRLDistributionPoints of issued certificates (RFC 5280 §4.2.1.13)
    ocsp_url: str | None = None  # authorityInfoAccess id-ad-ocsp (RFC 5280 §4.2.2.1)
    pkcs11_module: str | None = None  # keys in a PKCS#11 token: its module ...
    pkcs11_token: str | None = None  # ... the token's label ...
    key_label: str | None = None  # ... and the prefix of the keys' labels (``<prefix>-root``, ``-issuing``)
    # key algorithms device and bootstrap requests may carry, the first preferred (EST csrattrs asks for
    # it); empty: this CA's own algorithm preferred, every other one accepted (keypolicy.KeyPolicy.for_ca)
    device_keys: tuple[KeyAlgorithm, ...] = ()

    def __post_init__(self) -> None:
        keypolicy.check_algorithms([self.algorithm], "CA key algorithm")
        object.__setattr__(self, "device_keys", keypolicy.check_algorithms(self.device_keys, "device_keys"))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CASettings:
        """Settings from ``ca.json``; unknown keys are ignored, bad values raise :class:`IdentityError`."""
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        if not isinstance(known.get("device_keys", []), list):
            raise IdentityError("ca.json: device_keys must be a list of key algorithms")
        known["device_keys"] = tuple(known.get("device_keys", ()))
        return cls(**known)

    @property
    def key_policy(self) -> KeyPolicy:
        """Which keys device certificates may certify, and which one the CA prefers."""
        return KeyPolicy.for_ca(self.algorithm, self.device_keys)

    @property
    def token(self) -> TokenConfig | None:
        if not self.pkcs11_module:
            return None
        return TokenConfig(self.pkcs11_module, self.pkcs11_token or "")

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["device_keys"] = list(self.device_keys)
        return out


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


def serial_hex(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "x")


def cert_sha256(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def check_public_key(key: object) -> PublicKey:
    """The request's key if its type and size are acceptable, else :class:`IdentityError`."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise IdentityError(f"RSA key of {key.key_size} bits refused: at least {MIN_RSA_BITS}")
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ACCEPTED_CURVES:
            raise IdentityError(f"EC curve {key.curve.name} refused: one of {', '.join(ACCEPTED_CURVES)}")
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise IdentityError(f"key type {type(key).__name__} refused")


def load_csr(data: bytes) -> x509.CertificateSigningRequest:
    """A PKCS#10 request from DER or PEM bytes whose self-signature verifies (RFC 2986 §3)."""
    if len(data) > MAX_CSR_BYTES * 2:
        raise IdentityError(f"certificate request larger than {MAX_CSR_BYTES} bytes")
    try:
        pem = data.lstrip().startswith(b"-----BEGIN")
        csr = x509.load_pem_x509_csr(data) if pem else x509.load_der_x509_csr(data)
        valid = csr.is_signature_valid
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise IdentityError(f"malformed certificate request: {exc}") from None
    if not valid:
        raise IdentityError("certificate request signature does not verify (proof of possession failed)")
    return csr


def requested_sans(csr: x509.CertificateSigningRequest) -> list[x509.GeneralName]:
    """DNS, IP and URI subjectAltNames of the request's extensionRequest (RFC 2985 §5.4.2)."""
    try:
        ext = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    except ValueError as exc:
        raise IdentityError(f"malformed extensions in certificate request: {exc}") from None
    names = list(ext)
    if len(names) > profiles.MAX_SANS:
        raise IdentityError(f"more than {profiles.MAX_SANS} subjectAltName entries requested")
    for name in names:
        if not isinstance(name, x509.DNSName | x509.IPAddress | x509.UniformResourceIdentifier):
            raise IdentityError(f"subjectAltName type {type(name).__name__} refused")
    return names


class DeviceCA:
    """An opened CA: its certificates, the issuing key (decrypted in memory only) and the repository."""

    def __init__(self, folder: Path, settings: CASettings, *, root: x509.Certificate, issuing: x509.Certificate,
                 issuing_key: Signer, repo: IdentityRepository, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.settings = settings
        self.root = root
        self.issuing = issuing
        self.issuing_key = issuing_key
        self.repo = repo
        self.clock = clock

    # --- creation and opening ------------------------------------------------------------------------

    @classmethod
    def init(cls, folder: Path, passphrase: str, repo: IdentityRepository, *,
             settings: CASettings | None = None, clock: Callable[[], float] = time.time) -> DeviceCA:
        """Create a root and an issuing CA in ``folder`` (which must not hold a CA yet). With
        ``settings.pkcs11_module`` the keys are generated on that token and ``passphrase`` is its user PIN;
        otherwise they are written encrypted under ``passphrase``."""
        settings = settings or CASettings()
        token = settings.token
        if token is None:
            keystore.check_passphrase(passphrase)
        if (folder / ROOT_CERT).exists():
            raise IdentityError(f"{folder} already holds a CA")
        now = clock()
        root_key: Signer
        issuing_key: Signer
        if token is not None:
            if settings.key_label is None:
                settings = dataclasses.replace(settings, key_label=f"iotwarden-ca-{secrets.token_hex(4)}")
            session = Token.open(token, passphrase)
            root_key = session.generate(f"{settings.key_label}-root", settings.algorithm)
            issuing_key = session.generate(f"{settings.key_label}-issuing", settings.algorithm)
        else:
            root_key = keystore.generate(settings.algorithm)
            issuing_key = keystore.generate(settings.algorithm)
        root_name = cls._ca_name(settings, f"{settings.name} root")
        issuing_name = cls._ca_name(settings, f"{settings.name} issuing")
        root = cls._sign(root_name, root_key.public_key(), issuer=root_name, signing_key=root_key,
                         profile=profiles.ROOT_CA, now=now)
        issuing = cls._sign(issuing_name, issuing_key.public_key(), issuer=root_name,
                            signing_key=root_key, profile=profiles.ISSUING_CA, now=now, issuer_cert=root)
        folder.mkdir(parents=True, exist_ok=True)
        if not isinstance(root_key, TokenKey) and not isinstance(issuing_key, TokenKey):
            keystore.save(root_key, folder / ROOT_KEY, passphrase)
            keystore.save(issuing_key, folder / ISSUING_KEY, passphrase)
        (folder / ROOT_CERT).write_bytes(root.public_bytes(serialization.Encoding.PEM))
        (folder / ISSUING_CERT).write_bytes(issuing.public_bytes(serialization.Encoding.PEM))
        (folder / CHAIN).write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (issuing, root)))
        (folder / SETTINGS).write_text(json.dumps(settings.to_dict(), indent=2) + "\n")
        return cls(folder, settings, root=root, issuing=issuing, issuing_key=issuing_key, repo=repo, clock=clock)

    @classmethod
    def open(cls, folder: Path, passphrase: str, repo: IdentityRepository, *,
             clock: Callable[[], float] = time.time) -> DeviceCA:
        """Open the CA in ``folder``, decrypting the issuing key with ``passphrase``."""
        try:
            raw = json.loads((folder / SETTINGS).read_text())
            root = x509.load_pem_x509_certificate((folder / ROOT_CERT).read_bytes())
            issuing = x509.load_pem_x509_certificate((folder / ISSUING_CERT).read_bytes())
        except (OSError, ValueError, RecursionError) as exc:  # RecursionError: ca.json nested too deeply
            raise IdentityError(f"no usable CA in {folder}: {describe(exc)}") from None
        if not isinstance(raw, dict):
            raise IdentityError(f"no usable CA in {folder}: {SETTINGS} is not a JSON object")
        settings = CASettings.from_dict(raw)
        key: Signer
        token = settings.token
        if token is not None:
            key = Token.open(token, passphrase).key(f"{settings.key_label}-issuing", settings.algorithm)
            if key.public_key() != issuing.public_key():
                raise IdentityError(f"the token's key {settings.key_label}-issuing is not the issuing CA's key")
        else:
            key = keystore.load(folder / ISSUING_KEY, passphrase)
        return cls(folder, settings, root=root, issuing=issuing, issuing_key=key, repo=repo, clock=clock)

    @staticmethod
    def _ca_name(settings: CASettings, cn: str) -> x509.Name:
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        if settings.organization:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.organization))
        return x509.Name(attrs)

    @staticmethod
    def _sign(subject: x509.Name, public_key: PublicKey, *, issuer: x509.Name, signing_key: Signer,
              profile: Profile, now: float, sans: list[x509.GeneralName] | None = None,
              issuer_cert: x509.Certificate | None = None, not_after_cap: float | None = None,
              settings: CASettings | None = None) -> x509.Certificate:
        not_after = now + profile.lifetime_days * 86400
        if not_after_cap is not None:
            not_after = min(not_after, not_after_cap)  # never outlive the issuer (RFC 5280 §6.1.3 a.2)
        issuer_public = issuer_cert.public_key() if issuer_cert else public_key
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())  # 159 random bits (RFC 5280 §4.1.2.2)
            .not_valid_before(_utc(now - (0 if profile.is_ca else CLOCK_SKEW_S)))
            .not_valid_after(_utc(not_after))
            .add_extension(x509.BasicConstraints(ca=profile.is_ca, path_length=profile.path_length), critical=True)
            .add_extension(profile.key_usage(isinstance(public_key, rsa.RSAPublicKey)), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public),  # type: ignore[arg-type]
                           critical=False)
        )
        eku = profile.extended_key_usage()
        if eku is not None:
            builder = builder.add_extension(eku, critical=False)
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        if settings is not None and settings.crl_url:
            builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                [x509.UniformResourceIdentifier(settings.crl_url)], None, None, None)]), critical=False)
        if settings is not None and settings.ocsp_url:
            builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(settings.ocsp_url))]),
                critical=False)
        return sign_certificate(builder, signing_key)

    # --- issuance ------------------------------------------------------------------------------------

    @property
    def chain(self) -> list[x509.Certificate]:
        """The CA certificates a relying party needs, issuing first (RFC 7030 §4.1.3 order)."""
        return [self.issuing, self.root]

    def chain_pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)

    def issue(self, csr: x509.CertificateSigningRequest, *, profile: str = "device", device_key: str | None = None,
              method: str = "direct") -> tuple[x509.Certificate, IssuedCert]:
        """Sign ``csr`` (already verified by :func:`load_csr`) under ``profile`` and record it.

        The subject is rebuilt from the request's CN (the device id), serialNumber, OU (model) and the
        CA's organisation; anything else in the requested subject is dropped.
        """
        prof = profiles.get(profile)
        public_key = check_public_key(csr.public_key())
        cn = profiles.common_name(csr.subject)
        if cn is None:
            raise IdentityError("certificate request has no subject CN (the device id)")

        def attr(oid: x509.ObjectIdentifier) -> str | None:
            values = csr.subject.get_attributes_for_oid(oid)
            return str(values[0].value) if values else None

        subject = profiles.device_subject(cn, serial=attr(NameOID.SERIAL_NUMBER),
                                          model=attr(NameOID.ORGANIZATIONAL_UNIT_NAME),
                                          organization=self.settings.organization)
        return self._issue(subject, public_key, prof, sans=requested_sans(csr), device_key=device_key, method=method)

    def issue_for_key(self, subject: x509.Name, public_key: PublicKey, *, profile: str = "device",
                      sans: list[x509.GeneralName] | None = None, device_key: str | None = None,
                      method: str = "direct") -> tuple[x509.Certificate, IssuedCert]:
        """Issue for a key the CA was handed directly (``iotwarden identity issue`` makes the key)."""
        if profiles.common_name(subject) is None:
            raise IdentityError("subject has no CN (the device id)")
        return self._issue(subject, check_public_key(public_key), profiles.get(profile), sans=sans or [],
                           device_key=device_key, method=method)

    def _issue(self, subject: x509.Name, public_key: PublicKey, prof: Profile, *, sans: list[x509.GeneralName],
               device_key: str | None, method: str) -> tuple[x509.Certificate, IssuedCert]:
        if prof.device_keys:
            self.settings.key_policy.check(public_key)
        now = self.clock()
        cap = self.issuing.not_valid_after_utc.timestamp()
        if now >= cap:
            raise IdentityError("the issuing CA has expired: nothing can be issued")
        cert = self._sign(subject, public_key, issuer=self.issuing.subject, signing_key=self.issuing_key,
                          profile=prof, now=now, sans=sans, issuer_cert=self.issuing, not_after_cap=cap,
                          settings=self.settings)
        record = IssuedCert(
            serial=serial_hex(cert), subject=cert.subject.rfc4514_string(),
            device_id=profiles.common_name(subject) or "", device_key=device_key, profile=prof.name,
            not_before=cert.not_valid_before_utc.timestamp(), not_after=cert.not_valid_after_utc.timestamp(),
            sha256=cert_sha256(cert), pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            issued_at=now, method=method,
        )
        self.repo.add_certificate(record)
        return cert, record

    def issued_by_us(self, cert: x509.Certificate) -> bool:
        """True when ``cert`` names our issuing CA as issuer and its signature verifies under it."""
        if cert.issuer != self.issuing.subject:
            return False
        try:
            cert.verify_directly_issued_by(self.issuing)
        except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
            return False
        return True
