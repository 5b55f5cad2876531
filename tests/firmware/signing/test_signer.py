"""Signing an image file: the manifest carries the file's SHA-256 and size, streamed like the bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from iotwarden.firmware.signing import keys, suit
from iotwarden.firmware.signing.signer import image_digest, sign_image


def test_file_and_bytes_give_the_same_manifest_digest(squashfs_image: Path) -> None:
    data = squashfs_image.read_bytes()
    assert image_digest(squashfs_image) == image_digest(data) == (hashlib.sha256(data).digest(), len(data))
    env = sign_image(squashfs_image, keys.generate(), vendor_domain="a.example", model="m", version="1", sequence=0)
    man = suit.decode_envelope(env).manifest
    assert (man.digest, man.size, man.sequence) == (hashlib.sha256(data).digest(), len(data), 0)
