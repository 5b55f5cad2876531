"""``iotwarden firmware keygen|sign|verify|verify-hash|golden add`` on an image of real binaries."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from iotwarden.cli import main as cli
from tests.firmware.conftest import make_rootfs, make_squashfs


@pytest.fixture(scope="module")
def squashfs_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An image of the real Debian component binaries (../shared/data)."""
    return make_squashfs(make_rootfs(tmp_path_factory.mktemp("fw")))


def _run(argv: list[str]) -> int:
    return cli.main(argv)


def test_keygen_sign_verify_and_refusals(
    tmp_path: Path, squashfs_image: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "vendor.key"
    assert _run(["firmware", "keygen", str(key), "--algorithm", "p256"]) == 0
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    env = tmp_path / "fw.suit"
    sign = ["firmware", "sign", str(squashfs_image), "--key", str(key), "--vendor", "acme.example",
            "--model", "cam-2000", "--version", "2.1.0", "--sequence", "4", "-o", str(env)]
    assert _run(sign) == 0
    capsys.readouterr()
    verify = ["firmware", "verify", str(squashfs_image), "--manifest", str(env), "--trusted-key", f"{key}.pub",
              "--vendor", "acme.example", "--model", "cam-2000"]
    assert _run(verify) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verified"] and out["algorithm"] == "ES256" and out["sequence"] == 4
    assert _run([*verify, "--current-sequence", "4"]) == 2
    assert "verification failed (downgrade)" in capsys.readouterr().err
    tampered = tmp_path / "tampered.sqfs"
    tampered.write_bytes(squashfs_image.read_bytes()[:-1] + b"X")
    assert _run(["firmware", "verify", str(tampered), "--manifest", str(env), "--trusted-key", f"{key}.pub"]) == 2
    assert "image_digest" in capsys.readouterr().err
    assert _run(["firmware", "verify", str(squashfs_image), "--manifest", str(env)]) == 2
    assert "untrusted_key" in capsys.readouterr().err
    assert _run(["firmware", "keygen", str(key)]) == 2  # never overwrites a key


def test_golden_registry_and_reported_hashes(tmp_path: Path, squashfs_image: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "g.db")
    good = hashlib.sha256(squashfs_image.read_bytes()).hexdigest()
    assert _run(["firmware", "golden", "add", "--model", "cam-2000", "--version", "2.1.0",
                 "--image", str(squashfs_image), "--db", db]) == 0
    capsys.readouterr()
    assert _run(["firmware", "verify-hash", "--model", "cam-2000", "--version", "2.1.0", good, "--db", db]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "match"
    assert _run(["firmware", "verify-hash", "--model", "cam-2000", "--version", "2.1.0", "0" * 64, "--db", db]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "mismatch"


def test_verify_checks_an_image_or_a_reported_hash_against_golden_hashes(
    tmp_path: Path, squashfs_image: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "g.db")
    good = hashlib.sha256(squashfs_image.read_bytes()).hexdigest()
    assert _run(["firmware", "golden", "add", "--model", "cam-2000", "--version", "2.1.0", "--sha256", good,
                 "--db", db]) == 0
    golden = ["--model", "cam-2000", "--version", "2.1.0", "--db", db]
    capsys.readouterr()
    assert _run(["firmware", "verify", str(squashfs_image), *golden]) == 0
    assert json.loads(capsys.readouterr().out)["golden"]["status"] == "match"
    assert _run(["firmware", "verify", "--sha256", good.upper(), *golden]) == 0  # as a device may report it
    capsys.readouterr()
    tampered = tmp_path / "tampered.sqfs"
    tampered.write_bytes(squashfs_image.read_bytes()[:-1] + b"X")
    assert _run(["firmware", "verify", str(tampered), *golden]) == 1
    out = json.loads(capsys.readouterr().out)["golden"]
    assert out["status"] == "mismatch" and out["expected"] == [good]
    assert _run(["firmware", "verify", "--sha256", good, "--model", "cam-2000", "--version", "9.9", "--db", db]) == 1
    assert json.loads(capsys.readouterr().out)["golden"]["status"] == "unknown"
    # a signed envelope and the golden registry in one call
    key = tmp_path / "k.key"
    assert _run(["firmware", "keygen", str(key)]) == 0
    assert _run(["firmware", "sign", str(squashfs_image), "--key", str(key), "--vendor", "acme.example",
                 "--model", "cam-2000", "--version", "2.1.0", "--sequence", "1", "-o", str(tmp_path / "e")]) == 0
    capsys.readouterr()
    assert _run(["firmware", "verify", str(squashfs_image), "--manifest", str(tmp_path / "e"), "--trusted-key",
                 f"{key}.pub", *golden]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verified"] and out["algorithm"] == "EdDSA" and out["golden"]["status"] == "match"
    # refusals are one line each
    for argv, said in [
        ([], "one of them"),
        ([str(squashfs_image), "--sha256", good, *golden], "one of them"),
        ([str(squashfs_image)], "nothing to verify against"),
        (["--sha256", "xyz", *golden], "not a SHA-256"),
        (["--sha256", good, "--version", "2.1.0"], "--version needs --model"),
    ]:
        assert _run(["firmware", "verify", *argv]) == 2
        err = capsys.readouterr().err
        assert said in err and len(err.strip().splitlines()) == 1
