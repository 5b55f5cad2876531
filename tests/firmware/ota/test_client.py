"""The reference device client's download: http(s) only, bounded size; verification and refusal of
downgrades and forgeries are exercised end to end in test_service.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.errors import FirmwareError
from iotwarden.firmware.ota.client import http_fetch


def test_fetch_refuses_other_schemes_and_oversized_images(served: tuple[Path, str]) -> None:
    www, base = served
    (www / "big.bin").write_bytes(b"x" * 2048)
    with pytest.raises(FirmwareError, match="only http"):
        http_fetch("file:///etc/passwd")
    with pytest.raises(FirmwareError, match="larger than 1024"):
        http_fetch(f"{base}/big.bin", limit=1024)
