"""The reference device client: asks for an update, downloads the image, verifies the SUIT envelope
(trusted key, signature, vendor/class ids, anti-rollback, digest and size) before it "installs" the
image into its slot, runs a health check and reports each step. Used in tests as the simulated device."""

from __future__ import annotations

import hashlib
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from iotwarden.errors import FirmwareError
from iotwarden.firmware.ota.service import Offer
from iotwarden.firmware.signing.keys import TrustedKeys
from iotwarden.firmware.signing.verify import Expectation, VerificationError, verify

MAX_IMAGE_BYTES = 256 * 1024 * 1024  # the most a device downloads for one image
FETCH_TIMEOUT_S = 30.0
ALLOWED_SCHEMES = ("http", "https")

Reporter = Callable[..., object]  # called as reporter(device_key, event, sha256=, version=, sequence=, detail=)


def http_fetch(uri: str, limit: int = MAX_IMAGE_BYTES) -> bytes:
    """GET ``uri`` (http or https only), refusing more than ``limit`` bytes."""
    if urllib.parse.urlsplit(uri).scheme not in ALLOWED_SCHEMES:
        raise FirmwareError(f"{uri}: only http and https image URIs are fetched")
    try:
        with urllib.request.urlopen(uri, timeout=FETCH_TIMEOUT_S) as resp:  # noqa: S310 - scheme checked above
            data: bytes = resp.read(limit + 1)
    except OSError as exc:
        raise FirmwareError(f"{uri}: download failed: {exc}") from None
    if len(data) > limit:
        raise FirmwareError(f"{uri}: image larger than {limit} bytes")
    return data


@dataclass(slots=True)
class DeviceClient:
    """A simulated device: its identity, the keys it trusts, what it runs and its update slot."""

    device_key: str
    vendor_domain: str
    model: str
    trusted: TrustedKeys
    version: str
    sequence: int | None = None  # sequence number of the installed manifest (None: factory image)
    image: bytes = b""
    fetch: Callable[[str], bytes] = http_fetch
    health_check: Callable[[bytes], bool] = field(default=lambda _image: True)
    log: list[str] = field(default_factory=list)

    def apply(self, offer: Offer, report: Reporter) -> bool:
        """Download, verify, install and health-check one offer; returns True when it runs the new image."""
        try:
            image = self.fetch(offer.uri)
        except FirmwareError as exc:
            report(self.device_key, "failed", detail=f"download: {exc}")
            self.log.append(f"download failed: {exc}")
            return False
        digest = hashlib.sha256(image).hexdigest()
        report(self.device_key, "downloaded", sha256=digest)
        try:
            verified = verify(
                image, offer.envelope, self.trusted, Expectation(self.vendor_domain, self.model, self.sequence)
            )
        except VerificationError as exc:
            # refused before anything is written: the running image stays
            report(self.device_key, "failed", sha256=digest, detail=str(exc))
            self.log.append(str(exc))
            return False
        previous = (self.image, self.version, self.sequence)
        self.image, self.sequence = image, verified.manifest.sequence
        self.version = verified.manifest.version or offer.version
        report(self.device_key, "installed", sha256=digest, version=self.version, sequence=self.sequence)
        if not self.health_check(image):
            self.image, self.version, self.sequence = previous  # the bootloader falls back to the old slot
            report(self.device_key, "failed", sha256=digest, detail="health check failed after boot")
            self.log.append("health check failed")
            return False
        event = "reverted" if offer.revert else "healthy"
        report(self.device_key, event, sha256=digest, version=self.version, sequence=self.sequence)
        return True
