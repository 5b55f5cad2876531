"""The device key policy: a CA prefers its own algorithm and by default accepts every other one; a
CA whose ca.json names device_keys certifies device and bootstrap keys of those only, and says so
when it refuses; server certificates (keys the CA makes itself) are not bound by it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from iotwarden.errors import IdentityError
from iotwarden.identity import keystore, profiles
from iotwarden.identity.ca import SETTINGS, CASettings, DeviceCA
from iotwarden.identity.keypolicy import KeyPolicy, check_algorithms
from iotwarden.identity.keystore import KeyAlgorithm
from iotwarden.store.identity_models import SqlIdentityRepository
from tests.identity.conftest import PASSPHRASE, make_csr


@pytest.mark.parametrize("algorithm", keystore.ALGORITHMS)
def test_by_default_the_ca_algorithm_is_preferred_and_every_algorithm_accepted(algorithm: KeyAlgorithm) -> None:
    policy = CASettings(algorithm=algorithm).key_policy
    assert policy.preferred == algorithm
    assert sorted(policy.accepted) == sorted(keystore.ALGORITHMS)
    assert all(policy.accepts(keystore.generate(a).public_key()) for a in ("ec-p256", "ec-p384", "ed25519"))
    assert not policy.accepts(ec.generate_private_key(ec.SECP521R1()).public_key())


def test_named_device_keys_are_the_only_ones_accepted_in_order() -> None:
    policy = CASettings(algorithm="rsa-3072", device_keys=("ec-p384", "rsa-3072")).key_policy
    assert policy.preferred == "ec-p384" and policy.accepted == ("ec-p384", "rsa-3072")
    assert policy.accepts(keystore.generate("ec-p384").public_key())
    p256 = keystore.generate("ec-p256").public_key()
    with pytest.raises(IdentityError, match=r"EC secp256r1 key refused: .* take ec-p384 \(preferred\), rsa-3072 keys"):
        policy.check(p256)
    with pytest.raises(IdentityError, match="RSA 2048-bit key refused"):
        policy.check(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    with pytest.raises(IdentityError, match="Ed25519 key refused"):
        policy.check(keystore.generate("ed25519").public_key())


def test_rsa_sizes_are_minimums() -> None:
    rsa3072 = keystore.generate("rsa-3072").public_key()
    assert KeyPolicy(("rsa-2048",)).accepts(rsa3072)
    assert not KeyPolicy(("rsa-3072",)).accepts(keystore.generate("rsa-2048").public_key())


def test_unknown_or_missing_algorithms_are_refused() -> None:
    assert check_algorithms(["ec-p256", "ec-p256", "ed25519"], "x") == ("ec-p256", "ed25519")
    with pytest.raises(IdentityError, match=r"device_keys: unknown key algorithm 'ec-p521'"):
        CASettings(device_keys=("ec-p521",))  # type: ignore[arg-type]
    with pytest.raises(IdentityError, match="CA key algorithm: unknown key algorithm 'dsa'"):
        CASettings(algorithm="dsa")  # type: ignore[arg-type]
    with pytest.raises(IdentityError, match="at least one"):
        KeyPolicy(())


def test_device_keys_survive_ca_json_and_bad_values_there_are_clear(tmp_path: Path,
                                                                    repo: SqlIdentityRepository) -> None:
    ca = DeviceCA.init(tmp_path / "ca", PASSPHRASE, repo,
                       settings=CASettings(algorithm="ec-p384", device_keys=("ec-p384", "ec-p256")))
    assert json.loads((ca.folder / SETTINGS).read_text())["device_keys"] == ["ec-p384", "ec-p256"]
    again = DeviceCA.open(ca.folder, PASSPHRASE, repo)
    assert again.settings == ca.settings and again.settings.key_policy.accepted == ("ec-p384", "ec-p256")
    for bad, message in ((["rsa-1024"], "unknown key algorithm 'rsa-1024'"), ("ec-p256", "must be a list")):
        raw = json.loads((ca.folder / SETTINGS).read_text())
        raw["device_keys"] = bad
        (ca.folder / SETTINGS).write_text(json.dumps(raw))
        with pytest.raises(IdentityError, match=message):
            DeviceCA.open(ca.folder, PASSPHRASE, repo)
    (ca.folder / SETTINGS).write_text("[]")
    with pytest.raises(IdentityError, match="not a JSON object"):
        DeviceCA.open(ca.folder, PASSPHRASE, repo)


def test_a_ca_json_without_device_keys_keeps_accepting_every_algorithm(tmp_path: Path,
                                                                       repo: SqlIdentityRepository) -> None:
    ca = DeviceCA.init(tmp_path / "ca", PASSPHRASE, repo, settings=CASettings(algorithm="rsa-2048"))
    raw = json.loads((ca.folder / SETTINGS).read_text())
    del raw["device_keys"]  # written before device_keys existed
    (ca.folder / SETTINGS).write_text(json.dumps(raw))
    again = DeviceCA.open(ca.folder, PASSPHRASE, repo)
    assert again.settings.key_policy.preferred == "rsa-2048"
    assert again.issue(make_csr("cam-1", keystore.generate("ec-p256"))[0])[1].device_id == "cam-1"


def test_device_and_bootstrap_certificates_follow_the_policy_server_ones_do_not(
        tmp_path: Path, repo: SqlIdentityRepository) -> None:
    ca = DeviceCA.init(tmp_path / "ca", PASSPHRASE, repo,
                       settings=CASettings(algorithm="ec-p256", device_keys=("ec-p384",)))
    with pytest.raises(IdentityError, match="EC secp256r1 key refused"):
        ca.issue(make_csr("cam-1", keystore.generate("ec-p256"))[0])
    with pytest.raises(IdentityError, match="EC secp256r1 key refused"):
        ca.issue_for_key(profiles.device_subject("cam-1"), keystore.generate("ec-p256").public_key(),
                         profile="bootstrap")
    assert repo.list_certificates(device_id="cam-1") == []  # nothing recorded for a refused request
    cert, _ = ca.issue(make_csr("cam-1", keystore.generate("ec-p384"))[0])
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    server, _ = ca.issue_for_key(profiles.device_subject("est-server"), keystore.generate("ec-p256").public_key(),
                                 profile="server")
    assert profiles.common_name(server.subject) == "est-server"
