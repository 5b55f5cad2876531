"""Errors: one base class, grouped by origin; a capture error says how far reading got."""

from __future__ import annotations

import pytest

from iotwarden import errors


@pytest.mark.parametrize("name", ["CaptureError", "ParseError", "ConfigError", "StoreError", "PolicyError",
                                  "FirmwareError", "IdentityError"])
def test_every_error_is_an_iotwarden_error(name: str) -> None:
    assert issubclass(getattr(errors, name), errors.IotwardenError)


def test_capture_error_carries_the_packets_read_before_the_damage() -> None:
    exc = errors.CaptureError("truncated record", packets_read=41)
    assert exc.packets_read == 41 and str(exc) == "truncated record"
