"""What the identity commands offer and default to before anything runs: key algorithms, leaf profiles, token
lifetime, CRL validity, reminder horizon, Mosquitto's port. One definition each, read by the modules that use
them (keystore, profiles, lifecycle, crl, mosquitto) and by ``iotwarden identity``'s options, which show them
without importing cryptography (~50 ms CPU for every identity command and ``--help``)."""

from __future__ import annotations

from typing import Literal

KeyAlgorithm = Literal["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "ed25519"]
ALGORITHMS: tuple[KeyAlgorithm, ...] = ("ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "ed25519")
DEFAULT_ALGORITHM: KeyAlgorithm = "ec-p256"
LEAF_PROFILES = ("device", "bootstrap", "server")  # profiles.PROFILES that certify no CA
DEFAULT_TOKEN_HOURS = 24.0  # an unused enrolment token expires after this
DEFAULT_REMIND_DAYS = 14  # `iotwarden identity expiring` looks this far ahead
DEFAULT_VALIDITY_HOURS = 24  # a CRL's nextUpdate - thisUpdate (RFC 5280 §5.1.2.5): how stale a relying party's may get
DEFAULT_PORT = 8883  # Mosquitto's mutual-TLS listener: IANA "secure-mqtt"
