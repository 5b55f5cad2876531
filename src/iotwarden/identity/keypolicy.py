"""Which keys a device may enrol with: the CA's device key policy (``ca.json`` ``device_keys``), the
check applied to every request for a profile whose key a device holds (``device``, ``bootstrap``), and
the one algorithm the policy prefers, which EST ``csrattrs`` asks devices to use (csrattrs.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from iotwarden.errors import IdentityError
from iotwarden.identity import keystore
from iotwarden.identity.keystore import KeyAlgorithm

# EC curve (RFC 5480 §2.1.1.1 named curve, by cryptography's name) of each EC algorithm
CURVES: dict[KeyAlgorithm, str] = {"ec-p256": "secp256r1", "ec-p384": "secp384r1"}


def rsa_bits(algorithm: KeyAlgorithm) -> int | None:
    """The modulus size ``rsa-N`` names (the least a request's RSA key may have), else None."""
    return int(algorithm[4:]) if algorithm.startswith("rsa-") else None


def check_algorithms(names: Iterable[str], where: str) -> tuple[KeyAlgorithm, ...]:
    """``names`` as key algorithms, in order and without repeats; :class:`IdentityError` naming
    ``where`` (the setting) for an unknown one."""
    out: list[KeyAlgorithm] = []
    for name in names:
        algorithm = next((a for a in keystore.ALGORITHMS if a == name), None)
        if algorithm is None:
            raise IdentityError(f"{where}: unknown key algorithm {name!r}: one of {', '.join(keystore.ALGORITHMS)}")
        if algorithm not in out:
            out.append(algorithm)
    return tuple(out)


def matches(algorithm: KeyAlgorithm, key: object) -> bool:
    """True when ``key`` (a public key) is of ``algorithm``: the same curve, Ed25519, or an RSA key of
    at least the named size."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return CURVES.get(algorithm) == key.curve.name
    if isinstance(key, rsa.RSAPublicKey):
        bits = rsa_bits(algorithm)
        return bits is not None and key.key_size >= bits
    return isinstance(key, ed25519.Ed25519PublicKey) and algorithm == "ed25519"


def describe_key(key: object) -> str:
    """A request key in words, for refusals ("EC secp256r1", "RSA 2048-bit", "Ed25519")."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}-bit"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return type(key).__name__


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """The key algorithms device requests may carry, the preferred one first (never empty)."""

    accepted: tuple[KeyAlgorithm, ...]

    def __post_init__(self) -> None:
        if not self.accepted:
            raise IdentityError("a device key policy accepts at least one key algorithm")

    @classmethod
    def for_ca(cls, ca_algorithm: KeyAlgorithm, device_keys: Iterable[KeyAlgorithm] = ()) -> KeyPolicy:
        """The policy of a CA whose own keys are ``ca_algorithm``: ``device_keys`` when set (the first
        preferred); otherwise the CA's algorithm preferred and every other algorithm of
        :data:`keystore.ALGORITHMS` accepted too."""
        chosen = tuple(device_keys)
        if chosen:
            return cls(chosen)
        return cls((ca_algorithm, *(a for a in keystore.ALGORITHMS if a != ca_algorithm)))

    @property
    def preferred(self) -> KeyAlgorithm:
        return self.accepted[0]

    def accepts(self, key: object) -> bool:
        return any(matches(algorithm, key) for algorithm in self.accepted)

    def check(self, key: object) -> None:
        """:class:`IdentityError` saying what is accepted when ``key`` is of none of our algorithms."""
        if not self.accepts(key):
            accepted = ", ".join(f"{a} (preferred)" if a == self.preferred else a for a in self.accepted)
            raise IdentityError(f"{describe_key(key)} key refused: this CA's device certificates take {accepted} "
                                "keys (GET /.well-known/est/csrattrs says which, RFC 7030 §4.5)")
