"""Mutual TLS for MQTT: a Mosquitto listener configuration that admits only clients holding a valid
certificate of our CA, takes the certificate's CN as MQTT username and honours our CRL.

Mosquitto cannot be given a key passphrase, so the broker's own (non-CA) key is written unencrypted,
owner-only, beside the configuration; the CA folder itself never holds a plaintext key.
"""

from __future__ import annotations

import ipaddress
import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from iotwarden.errors import IdentityError
from iotwarden.identity import crl, defaults, keystore, profiles
from iotwarden.identity.ca import DeviceCA

CONFIG, CA_FILE, CERT_FILE, KEY_FILE, ACL_FILE = (
    "mosquitto.conf", "ca-chain.pem", "broker.crt.pem", "broker.key.pem", "acl")
DEFAULT_PORT = defaults.DEFAULT_PORT  # IANA "secure-mqtt"
# each device may use only its own topic subtree (Mosquitto acl_file ``pattern`` with %u = username)
DEFAULT_ACL = "pattern readwrite devices/%u/#\n"


@dataclass(frozen=True, slots=True)
class MosquittoFiles:
    config: Path
    ca_file: Path
    cert_file: Path
    key_file: Path
    crl_file: Path
    acl_file: Path


def render(*, host: str, port: int, ca_file: Path, cert_file: Path, key_file: Path, crl_file: Path,
           acl_file: Path, user: str | None = None) -> str:
    """The text of a mosquitto.conf (Mosquitto 2.x, ``man 5 mosquitto.conf``) for one mutual-TLS listener."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise IdentityError(f"listener address {host!r} must be an IP address") from None
    if not 0 < port < 65536:
        raise IdentityError(f"listener port {port} out of range")
    lines = [
        "# written by `iotwarden identity mqtt-config`: mutual TLS with the iotwarden device CA",
        "per_listener_settings true",
        *([f"user {user}"] if user else []),
        "persistence false",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
        "",
        f"listener {port} {host}",
        "protocol mqtt",
        f"cafile {ca_file}",
        f"certfile {cert_file}",
        f"keyfile {key_file}",
        f"crlfile {crl_file}",  # checked for the client's leaf; reloaded on SIGHUP
        "tls_version tlsv1.2",
        "require_certificate true",  # no certificate, no connection
        "use_identity_as_username true",  # the certificate's CN becomes the MQTT username
        "allow_anonymous false",
        f"acl_file {acl_file}",
        "",
    ]
    return "\n".join(lines)


def write(ca: DeviceCA, out_dir: Path, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          broker_name: str = "mqtt-broker", dns: tuple[str, ...] = ("localhost",),
          ips: tuple[str, ...] = ("127.0.0.1",), user: str | None = None, acl: str = DEFAULT_ACL) -> MosquittoFiles:
    """Issue the broker's server certificate and write config, chain, key and ACL into ``out_dir``.

    ``crlfile`` points at the CA folder's ``crl.pem`` (published here if absent), so a revocation
    followed by a SIGHUP to Mosquitto takes effect without copying anything.
    """
    if out_dir.resolve() == ca.folder.resolve():
        raise IdentityError("write the broker configuration outside the CA folder (its key is not encrypted)")
    crl_file = ca.folder / crl.CRL_FILE
    if not crl_file.exists():
        crl.publish(ca)
    key = keystore.generate(ca.settings.algorithm if ca.settings.algorithm != "ed25519" else "ec-p256")
    subject = profiles.device_subject(broker_name, organization=ca.settings.organization)
    cert, _ = ca.issue_for_key(subject, key.public_key(), profile="server",
                               sans=profiles.device_sans(dns=list(dns), ips=list(ips)))
    out_dir.mkdir(parents=True, exist_ok=True)
    files = MosquittoFiles(out_dir / CONFIG, out_dir / CA_FILE, out_dir / CERT_FILE, out_dir / KEY_FILE,
                           crl_file.resolve(), out_dir / ACL_FILE)
    files.ca_file.write_bytes(ca.chain_pem())
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keystore.write_private(files.key_file, keystore.plain_pem(key))
    files.acl_file.write_text(acl)
    files.config.write_text(render(host=host, port=port, ca_file=files.ca_file.resolve(),
                                   cert_file=files.cert_file.resolve(), key_file=files.key_file.resolve(),
                                   crl_file=files.crl_file, acl_file=files.acl_file.resolve(), user=user))
    if user:
        _chown(out_dir, user)
    return files


def _chown(out_dir: Path, user: str) -> None:
    # the broker drops privileges to ``user`` before reading its key
    for path in out_dir.iterdir():
        shutil.chown(path, user=user)
