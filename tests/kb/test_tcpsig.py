"""p0f v3 signature parsing and matching (p0f 3 README §5)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.kb.tcpsig import MAX_DISTANCE, P0fSignature

LINUX_311 = "*:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0"  # p0f.fp "s:unix:Linux:3.11 and newer"


def seen(*, ttl: int = 57, mss: int = 1460, window: int = 29200, scale: int = 10, ver: str = "4",
         layout: str = "mss,sok,ts,nop,ws", quirks: str = "df,id+", pclass: str = "0") -> P0fSignature:
    return P0fSignature.parse(f"{ver}:{ttl}:0:{mss}:{window},{scale}:{layout}:{quirks}:{pclass}")


def test_linux_syn_matches() -> None:
    sig = P0fSignature.parse(LINUX_311)
    assert sig.matches(seen())  # 29200 = 1460 * 20, TTL 57 is 7 hops below 64


def test_ttl_must_be_at_most_max_distance_below_the_initial_ttl() -> None:
    sig = P0fSignature.parse(LINUX_311)
    assert sig.matches(seen(ttl=64 - MAX_DISTANCE))
    assert not sig.matches(seen(ttl=64 - MAX_DISTANCE - 1))
    assert not sig.matches(seen(ttl=65))  # above the initial TTL: another OS family


def test_window_forms() -> None:
    assert not P0fSignature.parse(LINUX_311).matches(seen(window=29201))
    mtu = P0fSignature.parse("4:64:0:*:mtu*4,0:mss:df:0")
    assert mtu.matches(seen(window=1500 * 4, scale=0, layout="mss", quirks="df"))
    mod = P0fSignature.parse("*:128:0:*:%8192,8:mss,nop,ws,nop,nop,sok:df,id+:0")
    assert mod.matches(seen(ttl=120, window=65536, scale=8, layout="mss,nop,ws,nop,nop,sok"))
    assert not mod.matches(seen(ttl=120, window=65535, scale=8, layout="mss,nop,ws,nop,nop,sok"))


def test_layout_quirks_and_payload_class_must_agree() -> None:
    sig = P0fSignature.parse(LINUX_311)
    assert not sig.matches(seen(layout="mss,nop,ws"))
    assert not sig.matches(seen(quirks="df"))
    assert sig.matches(seen(quirks="id+,df"))  # quirks are a set
    assert not sig.matches(seen(pclass="+"))


@pytest.mark.parametrize("bad", ["", "4:64:0", "5:64:0:*:mss*20,10:mss:df:0", "4:64:0:*:mss*,10:mss:df:0",
                                 "4:64:0:*:%0,10:mss:df:0", "4:64:0:*:8192:mss:df:0", "4:x:0:*:8192,0:mss:df:0",
                                 "4:64:0:*:8192,0:mss:df:?"])
def test_malformed_signatures_raise_value_error(bad: str) -> None:
    with pytest.raises(ValueError, match="p0f"):
        P0fSignature.parse(bad)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789*:,%+-abcdefmstuwz", max_size=60))
def test_parse_contract(text: str) -> None:
    try:
        sig = P0fSignature.parse(text)
    except ValueError:
        return
    assert sig.matches(sig) in (True, False)
