"""Signing a firmware image: its SHA-256 and size into a SUIT manifest, sealed in a signed envelope."""

from __future__ import annotations

import hashlib
from pathlib import Path

from iotwarden.errors import FirmwareError, describe
from iotwarden.firmware.signing import suit
from iotwarden.firmware.signing.cose import PrivateKey
from iotwarden.firmware.signing.keys import key_id

READ_CHUNK = 1 << 20


def image_digest(image: Path | bytes) -> tuple[bytes, int]:
    """SHA-256 and size of an image file or of image bytes (FirmwareError if the file cannot be read)."""
    if isinstance(image, bytes):
        return hashlib.sha256(image).digest(), len(image)
    h, size = hashlib.sha256(), 0
    try:
        with image.open("rb") as f:
            while chunk := f.read(READ_CHUNK):
                h.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise FirmwareError(f"{image}: cannot read the image: {describe(exc)}") from None
    return h.digest(), size


def sign_image(
    image: Path | bytes,
    key: PrivateKey,
    *,
    vendor_domain: str,
    model: str,
    version: str,
    sequence: int,
    uri: str | None = None,
) -> bytes:
    """The SUIT envelope (tagged CBOR) that vouches for ``image`` as ``model`` ``version``."""
    digest, size = image_digest(image)
    manifest = suit.build_manifest(
        vendor_domain=vendor_domain,
        model=model,
        version=version,
        sequence=sequence,
        image_sha256=digest,
        image_size=size,
        uri=uri,
    )
    return suit.seal(manifest, [key], [key_id(key.public_key())])
