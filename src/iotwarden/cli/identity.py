"""``iotwarden identity ...``: the device CA, EST enrolment, revocation, Mosquitto mutual-TLS
configuration, expiry reminders and scoped default-credential checks, as thin shells over identity/."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from iotwarden.cli.analyze import DB_OPTION, FORMAT_OPTION, OUTPUT_OPTION, Format, emit, open_store
from iotwarden.cli.files import check_output, check_output_folder, read_file
from iotwarden.cli.main import app
from iotwarden.errors import ConfigError, IdentityError, describe
from iotwarden.identity import defaults
from iotwarden.identity.credcheck.scope import DEFAULT_PORTS, RateLimiter, Scope, Target
from iotwarden.identity.records import STATUSES

if TYPE_CHECKING:
    from cryptography import x509

    from iotwarden.identity.ca import DeviceCA
    from iotwarden.identity.records import IdentityRepository

# The CA, keys, profiles, CRL and Mosquitto modules import cryptography (~50 ms CPU) and the store's identity
# repository SQLAlchemy: each command imports them when it runs; the options show identity/defaults.py's values.

identity_app = typer.Typer(help="Device CA, EST enrolment, certificate lifecycle and credential hygiene.")
app.add_typer(identity_app, name="identity")

CA_DIR_OPTION = typer.Option(Path(os.environ.get("IOTWARDEN_CA_DIR", "iotwarden-ca")), "--ca-dir",
                             help="CA folder (default $IOTWARDEN_CA_DIR or ./iotwarden-ca).")
PASS_ENV_OPTION = typer.Option("IOTWARDEN_CA_PASSPHRASE", "--passphrase-env",
                               help="Environment variable holding the CA passphrase or token PIN (else prompted).")

ISSUE_OUT_OPTION = typer.Option(..., "--out", help="Folder for the device's key and certificate.")
MQTT_OUT_OPTION = typer.Option(..., "--out", help="Folder for mosquitto.conf and its files.")
BOOTSTRAP_OPTION = typer.Option([], "--bootstrap-ca", help="Manufacturer CA (PEM) whose certificates may enrol.")


def _passphrase(env: str, *, confirm: bool = False) -> str:
    """The CA passphrase from ``$env``, else asked on the terminal; never read from a pipe."""
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise ConfigError(f"no CA passphrase: set ${env} (or --passphrase-env VAR), or run on a terminal to be asked")
    return str(typer.prompt("CA passphrase", hide_input=True, confirmation_prompt=confirm))


@contextmanager
def _repository(db: str | None) -> Iterator[IdentityRepository]:
    """The identity records of the store named by ``--db``; the store is closed when the block ends (SQLite then
    folds its write-ahead log into the database file)."""
    from iotwarden.store.identity_models import SqlIdentityRepository  # noqa: PLC0415 - see the imports

    with open_store(db) as store:
        yield SqlIdentityRepository(store)


def require_ca(ca_dir: Path) -> None:
    """Refuse a folder that holds no CA before asking for its passphrase."""
    from iotwarden.identity.ca import ROOT_CERT  # noqa: PLC0415 - see the imports

    if not (ca_dir / ROOT_CERT).is_file():
        raise IdentityError(f"no CA in {ca_dir}: create one with 'iotwarden identity init --ca-dir {ca_dir}'")


@contextmanager
def _open(ca_dir: Path, db: str | None, env: str) -> Iterator[DeviceCA]:
    """The CA in ``ca_dir`` with the identity records of ``--db``, its store closed when the block ends."""
    from iotwarden.identity.ca import DeviceCA  # noqa: PLC0415 - see the imports

    require_ca(ca_dir)
    passphrase = _passphrase(env)
    with _repository(db) as repo:
        yield DeviceCA.open(ca_dir, passphrase, repo)


def _when(ts: float | None) -> str:
    return "" if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M")


DEVICE_KEYS_OPTION = typer.Option(None, "--device-key", help="A key algorithm device certificates may have "
                                  "(repeat; the first is the one EST csrattrs asks for). Default: the CA's "
                                  "algorithm preferred, all accepted.")


@identity_app.command("init")
def init(*, ca_dir: Path = CA_DIR_OPTION, db: str | None = DB_OPTION, passphrase_env: str = PASS_ENV_OPTION,
         algorithm: str = typer.Option(defaults.DEFAULT_ALGORITHM, help=f"One of {', '.join(defaults.ALGORITHMS)}."),
         name: str = typer.Option("iotwarden device CA", help="CA common name prefix."),
         organization: str | None = typer.Option(None, help="O= of the CA and of issued certificates."),
         crl_url: str | None = typer.Option(None, help="cRLDistributionPoints URL put in issued certificates."),
         ocsp_url: str | None = typer.Option(None, help="OCSP URL put in issued certificates."),
         pkcs11_module: str | None = typer.Option(None, help="Keep the CA keys in a PKCS#11 token: its module "
                                                  "(e.g. /usr/lib/softhsm/libsofthsm2.so); the passphrase is the PIN."),
         pkcs11_token: str | None = typer.Option(None, help="Label of that token."),
         device_key: list[str] | None = DEVICE_KEYS_OPTION) -> None:
    """Create the root and issuing CA (keys encrypted with the passphrase, or generated in a PKCS#11
    token that never lets them out)."""
    from iotwarden.identity import crl, keypolicy, keystore, profiles  # noqa: PLC0415 - see the imports
    from iotwarden.identity.ca import CASettings, DeviceCA  # noqa: PLC0415

    if algorithm not in keystore.ALGORITHMS:
        raise ConfigError(f"--algorithm: one of {', '.join(keystore.ALGORITHMS)}")
    if (pkcs11_module is None) != (pkcs11_token is None):
        raise ConfigError("--pkcs11-module and --pkcs11-token go together")
    locations = {"--crl-url": (crl_url, ("http", "https", "ldap")), "--ocsp-url": (ocsp_url, ("http", "https"))}
    for what, (url, schemes) in locations.items():
        if url is not None:
            profiles.check_location(url, what, schemes)
    settings = CASettings(name=name, organization=organization, algorithm=algorithm,
                          device_keys=keypolicy.check_algorithms(device_key or (), "--device-key"),
                          crl_url=crl_url, ocsp_url=ocsp_url, pkcs11_module=pkcs11_module, pkcs11_token=pkcs11_token)
    passphrase = _passphrase(passphrase_env, confirm=True)
    with _repository(db) as repo:
        ca = DeviceCA.init(ca_dir, passphrase, repo, settings=settings)
        crl.publish(ca)
    where = (f"keys on token {pkcs11_token!r} as {ca.settings.key_label}-root/-issuing" if pkcs11_module
             else "keys encrypted")
    typer.echo(f"CA created in {ca_dir} ({where}): {ca.issuing.subject.rfc4514_string()}")


@identity_app.command("issue")
def issue(device_id: str, *, out: Path = ISSUE_OUT_OPTION,
          ca_dir: Path = CA_DIR_OPTION, db: str | None = DB_OPTION, passphrase_env: str = PASS_ENV_OPTION,
          serial: str | None = typer.Option(None, help="Hardware serial (subject serialNumber)."),
          model: str | None = typer.Option(None, help="Model (subject OU)."),
          dns: list[str] = typer.Option([], "--dns", help="subjectAltName DNS name (repeatable)."),  # noqa: B008
          ip: list[str] = typer.Option([], "--ip", help="subjectAltName IP address (repeatable)."),  # noqa: B008
          mac: str | None = typer.Option(None, help="MAC address (subjectAltName urn:dev:mac:)."),
          device_key: str | None = typer.Option(None, help="Inventory device key (mac:..) holding it."),
          profile: str = typer.Option("device", help=f"One of {', '.join(defaults.LEAF_PROFILES)}."),
          algorithm: str | None = typer.Option(None, help="Device key algorithm (default: the one the CA "
                                               "prefers for devices).")) -> None:
    """Make a key and issue a certificate for DEVICE_ID directly (no EST)."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - see the imports

    from iotwarden.identity import keypolicy, keystore, profiles  # noqa: PLC0415

    check_output_folder(out)
    sans = profiles.device_sans(dns=dns, ips=ip, mac=mac)  # checked before the CA's passphrase is asked for
    with _open(ca_dir, db, passphrase_env) as ca:
        chosen = (keypolicy.check_algorithms([algorithm], "--algorithm")[0] if algorithm is not None
                  else ca.settings.key_policy.preferred)
        key = keystore.generate(chosen)
        subject = profiles.device_subject(device_id, serial=serial, model=model, organization=ca.settings.organization)
        cert, rec = ca.issue_for_key(subject, key.public_key(), profile=profile, device_key=device_key or
                                     (f"mac:{mac.lower()}" if mac else None),
                                     sans=sans)
        keystore.write_private(out / f"{device_id}.key.pem", keystore.plain_pem(key))
        (out / f"{device_id}.crt.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca.chain_pem())
    typer.echo(f"issued serial {rec.serial} to {device_id}, valid until {_when(rec.not_after)} UTC; files in {out}")


@identity_app.command("enroll-token")
def enroll_token(device_id: str, *, ca_dir: Path = CA_DIR_OPTION, db: str | None = DB_OPTION,
                 device_key: str | None = typer.Option(None, help="Inventory device key the cert will link to."),
                 hours: float = typer.Option(defaults.DEFAULT_TOKEN_HOURS, help="Token lifetime in hours."),
                 profile: str = typer.Option("device", help="Profile of the certificate the token buys.")) -> None:
    """Print a one-time EST enrolment token (HTTP Basic password) for DEVICE_ID."""
    from iotwarden.identity import lifecycle  # noqa: PLC0415 - see the imports

    del ca_dir  # the token lives in the store only; the option keeps the command family uniform
    with _repository(db) as repo:
        token = lifecycle.new_token(repo, device_id, time.time(), device_key=device_key, profile=profile,
                                    valid_hours=hours)
    typer.echo(token)


@identity_app.command("revoke")
def revoke(serial: str, *, ca_dir: Path = CA_DIR_OPTION, db: str | None = DB_OPTION,
           passphrase_env: str = PASS_ENV_OPTION,
           reason: str = typer.Option("unspecified", help="CRLReason (RFC 5280 §5.3.1), e.g. key_compromise.")) -> None:
    """Revoke a certificate by serial (hex) and publish a new CRL."""
    from iotwarden.identity import crl, lifecycle  # noqa: PLC0415 - see the imports

    with _open(ca_dir, db, passphrase_env) as ca:
        rec = lifecycle.revoke(ca, serial, reason)
    typer.echo(f"revoked {rec.serial} ({rec.device_id}); CRL written to {ca_dir / crl.CRL_FILE}")


@identity_app.command("crl")
def crl_cmd(*, ca_dir: Path = CA_DIR_OPTION, db: str | None = DB_OPTION, passphrase_env: str = PASS_ENV_OPTION,
            hours: float = typer.Option(defaults.DEFAULT_VALIDITY_HOURS, help="Hours until nextUpdate."),
            out: Path | None = OUTPUT_OPTION) -> None:
    """Publish a fresh CRL (run it well within --hours, e.g. from cron, and HUP Mosquitto)."""
    from iotwarden.identity import crl  # noqa: PLC0415 - see the imports

    check_output(out)
    with _open(ca_dir, db, passphrase_env) as ca:
        path = crl.publish(ca, validity_hours=hours, path=out)
    typer.echo(f"CRL written to {path}")


def _certificate(path: Path) -> x509.Certificate:
    from cryptography import x509  # noqa: PLC0415 - see the imports

    try:
        return x509.load_pem_x509_certificate(read_file(path, "certificate"))
    except ValueError as exc:
        raise IdentityError(f"{path}: not a PEM certificate: {describe(exc)}") from None


@identity_app.command("est-serve")
def est_serve(*, ca_dir: Path = CA_DIR_OPTION, db: str | None = DB_OPTION, passphrase_env: str = PASS_ENV_OPTION,
              host: str = typer.Option("127.0.0.1", help="Address to listen on."),
              port: int = typer.Option(8443, min=0, max=65535, help="TCP port."),
              dns: list[str] = typer.Option(["localhost"], "--dns", help="Server certificate DNS name."),  # noqa: B008
              bootstrap_ca: list[Path] = BOOTSTRAP_OPTION,
              server_passphrase_env: str | None = typer.Option(
                  None, "--server-passphrase-env",
                  help="Environment variable holding the passphrase of the EST server's TLS key (at least 12 "
                       "characters; default: the CA passphrase; needed when the CA is a token with a short PIN).")
              ) -> None:
    """Serve EST (RFC 7030) over HTTPS until interrupted."""
    import asyncio  # noqa: PLC0415 - only for this command

    from iotwarden.identity import estserver  # noqa: PLC0415 - asn1crypto and h11: only for this command
    from iotwarden.identity.ca import DeviceCA  # noqa: PLC0415 - see the imports
    from iotwarden.identity.est import EstService  # noqa: PLC0415

    require_ca(ca_dir)
    anchors = [_certificate(p) for p in bootstrap_ca]
    passphrase = _passphrase(passphrase_env)
    with _repository(db) as repo:  # the store lives as long as the server
        ca = DeviceCA.open(ca_dir, passphrase, repo)
        server_passphrase = passphrase
        if server_passphrase_env is not None:
            server_passphrase = os.environ.get(server_passphrase_env) or ""
            if not server_passphrase:
                raise ConfigError(f"--server-passphrase-env: ${server_passphrase_env} is not set")
        try:
            cert_file, key_file = estserver.ensure_server_cert(ca, ca_dir / "est", server_passphrase, dns=dns,
                                                               ips=(host,))
        except IdentityError as exc:
            if server_passphrase_env is None and ca.settings.pkcs11_module:
                raise IdentityError(f"{exc} (the EST server key is encrypted with the CA's token PIN unless "
                                    "--server-passphrase-env names a passphrase of its own)") from None
            raise
        context = estserver.tls_context(cert_file, key_file, server_passphrase, [*ca.chain, *anchors])
        server = estserver.EstServer(EstService(ca, bootstrap_trust=anchors), context, host, port)
        typer.echo(f"EST on https://{host}:{port}/.well-known/est/ (Ctrl-C stops)")
        asyncio.run(server.serve_forever())


@identity_app.command("mqtt-config")
def mqtt_config(*, out: Path = MQTT_OUT_OPTION,
                ca_dir: Path = CA_DIR_OPTION, db: str | None = DB_OPTION, passphrase_env: str = PASS_ENV_OPTION,
                host: str = typer.Option("127.0.0.1", help="Listener address."),
                port: int = typer.Option(defaults.DEFAULT_PORT, help="Listener port."),
                user: str | None = typer.Option(None, help="Mosquitto's `user` (it drops privileges to it).")) -> None:
    """Write a Mosquitto configuration that requires client certificates of this CA."""
    from iotwarden.identity import mosquitto  # noqa: PLC0415 - see the imports

    check_output_folder(out)
    with _open(ca_dir, db, passphrase_env) as ca:
        files = mosquitto.write(ca, out, host=host, port=port, user=user, ips=(host,))
    typer.echo(f"wrote {files.config}; start with: mosquitto -c {files.config}")


def _cert_rows(rows: list[Any]) -> Table:
    table = Table("serial", "device", "device key", "profile", "status", "not after (UTC)")
    for r in rows:
        table.add_row(r.serial, r.device_id, r.device_key or "", r.profile, r.status, _when(r.not_after))
    return table


@identity_app.command("list")
def list_cmd(*, db: str | None = DB_OPTION, device_key: str | None = typer.Option(None, help="Only this device."),
             status: str | None = typer.Option(None, help="valid, revoked or superseded."),
             fmt: Format = FORMAT_OPTION, out: Path | None = OUTPUT_OPTION) -> None:
    """The certificates the CA issued, with the device holding each."""
    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"one of {', '.join(STATUSES)}", param_hint="--status")
    with _repository(db) as repo:
        rows = repo.list_certificates(device_key=device_key, status=status)
    data = {"schema": "iotwarden.identity.certificates/1",
            "certificates": [{k: v for k, v in r.to_dict().items() if k != "pem"} for r in rows]}
    emit(fmt, data, lambda c: c.print(_cert_rows(rows)), out)


@identity_app.command("expiring")
def expiring(*, db: str | None = DB_OPTION,
             days: float = typer.Option(defaults.DEFAULT_REMIND_DAYS, min=0, help="Horizon (days)."),
             fmt: Format = FORMAT_OPTION, out: Path | None = OUTPUT_OPTION) -> None:
    """Valid certificates expiring within --days (rotation reminders)."""
    from iotwarden.identity import lifecycle  # noqa: PLC0415 - see the imports

    with _repository(db) as repo:
        due = lifecycle.expiring(repo, time.time(), days)

    def render(c: Console) -> None:
        table = Table("serial", "device", "device key", "not after (UTC)", "days left")
        for r in due:
            table.add_row(r.serial, r.device_id, r.device_key or "", _when(r.not_after), f"{r.days_left:.1f}")
        c.print(table)

    emit(fmt, {"schema": "iotwarden.identity.expiring/1", "certificates": [r.to_dict() for r in due]}, render, out)


def _target(text: str) -> Target:
    """HOST[:PORT]/SERVICE[@CATEGORY], e.g. 10.0.0.7:2323/telnet@iot."""
    spec, _, category = text.partition("@")
    address, sep, service = spec.rpartition("/")
    if not sep or service not in DEFAULT_PORTS:
        raise ConfigError(f"target {text!r}: HOST[:PORT]/SERVICE with SERVICE one of {', '.join(DEFAULT_PORTS)}")
    host, _, port = address.rpartition(":") if address.count(":") == 1 else (address, "", "")
    try:
        return Target(host or address, int(port) if port else DEFAULT_PORTS[service], service,
                      category=category or None)
    except ValueError:
        raise ConfigError(f"target {text!r}: bad port") from None


@identity_app.command("check-creds")
def check_creds(targets: list[str], *,
                scope: list[str] = typer.Option(..., "--scope", help="CIDR that may be checked (repeatable)."),  # noqa: B008
                allow_category: list[str] = typer.Option([], "--allow-category",  # noqa: B008
                                                         help="Also check devices of this protected category (ot)."),
                max_attempts: int = typer.Option(20, min=1, help="Login attempts per host."),
                interval: float = typer.Option(1.0, min=0, help="Seconds between attempts on one host."),
                fmt: Format = FORMAT_OPTION, out: Path | None = OUTPUT_OPTION) -> None:
    """Try default credentials on TARGETS (HOST[:PORT]/SERVICE[@CATEGORY]) inside --scope only."""
    from iotwarden.identity.credcheck.check import CredentialChecker  # noqa: PLC0415 - asyncssh: only for this

    checker = CredentialChecker(Scope(scope, allow_categories=allow_category),
                                limiter=RateLimiter(min_interval_s=interval, max_attempts=max_attempts),
                                max_attempts=max_attempts)
    results = []
    for text in targets:
        try:
            results.append(checker.check(_target(text)))
        except IdentityError as exc:
            typer.echo(f"refused {text}: {exc}", err=True)
    findings = [f.to_dict() for r in results for f in r.findings]

    def render(c: Console) -> None:
        table = Table("target", "attempts", "result")
        for r in results:
            verdict = ", ".join(f"{f.id} ({f.evidence.get('username', '')})" for f in r.findings)
            table.add_row(f"{r.target.host}:{r.target.port}/{r.target.service}", str(r.attempts),
                          verdict or r.error or "no default credential accepted")
        c.print(table)

    emit(fmt, {"schema": "iotwarden.identity.credcheck/1", "findings": findings}, render, out)
