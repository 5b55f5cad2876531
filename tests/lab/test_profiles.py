"""DHCP client profiles are well-formed option 55 lists and option 60 strings (RFC 2132 §9.8, §9.13)."""

from __future__ import annotations

import pytest

from iotwarden.lab.profiles import DHCP_PROFILES


@pytest.mark.parametrize("name", sorted(DHCP_PROFILES))
def test_profile_is_a_valid_request_list(name: str) -> None:
    prof = DHCP_PROFILES[name]
    assert prof.prl and all(1 <= code <= 254 for code in prof.prl)
    assert len(set(prof.prl)) == len(prof.prl)
    assert prof.vendor_class is None or (prof.vendor_class.isascii() and len(prof.vendor_class) < 256)
    assert prof.max_size is None or prof.max_size >= 576  # RFC 2132 §9.10 minimum


def test_known_stacks_keep_their_published_identity() -> None:
    assert DHCP_PROFILES["windows"].vendor_class == "MSFT 5.0"
    assert DHCP_PROFILES["android"].vendor_class == "android-dhcp-13"
    assert DHCP_PROFILES["windows"].prl[-2:] == (249, 252)  # classless routes (MS) and WPAD
