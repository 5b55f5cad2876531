"""The extraction sandbox's limits: a listing over them is refused before anything is written."""

from __future__ import annotations

import pytest

from iotwarden.firmware.sandbox import LimitExceeded, Limits, Sandbox


def test_a_listing_over_the_limits_is_refused_before_anything_is_written() -> None:
    with Sandbox(Limits(max_file_bytes=100, max_total_bytes=150, max_files=3)) as sb:
        sb.admit_listing([(b"drwxr-xr-x", 0), (b"-rw-r--r--", 100), (b"lrwxrwxrwx", 10_000)], "img")
        for listing, kind in (([(b"-rw-r--r--", 101)], "limit.file_bytes"),
                              ([(b"-rw-r--r--", 100), (b"-rw-r--r--", 60)], "limit.total_bytes"),
                              ([(b"drwxr-xr-x", 0)] * 4, "limit.files")):
            with pytest.raises(LimitExceeded) as exc:
                sb.admit_listing(listing, "img")
            assert exc.value.kind == kind
