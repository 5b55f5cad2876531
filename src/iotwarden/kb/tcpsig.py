"""p0f v3 TCP signatures: parsing and matching ``ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass``."""

# The format and its matching follow p0f 3 (README §5 "Signature format"): ``*`` is a wildcard;
# ``wsize`` may be a constant, ``mss*N``, ``mtu*N`` or ``%N`` (a multiple of N); ``ittl`` is the
# initial TTL, which an observed TTL matches when it lies at most :data:`MAX_DISTANCE` hops below
# it; quirks compare as a set; ``pclass`` is ``0`` (no payload), ``+`` (payload) or ``*``.
# An observed signature has the same syntax with concrete values, its ``ittl`` field being the TTL
# as seen on the wire (``seen+distance`` is accepted too, the seen part counts).

from __future__ import annotations

from dataclasses import dataclass

MAX_DISTANCE = 35  # hops between the initial TTL and the observed one (p0f's MAX_DIST)
IPV4_MTU_OVERHEAD = 40  # MTU = MSS + IPv4 (20) + TCP (20) header bytes, RFC 9293 §3.7.1
IPV6_MTU_OVERHEAD = 60  # MTU = MSS + IPv6 (40) + TCP (20)


def _int_or_star(text: str, name: str) -> int | None:
    if text == "*":
        return None
    if not text.isdigit():
        raise ValueError(f"p0f {name} {text!r} is not a number or '*'")
    return int(text)


@dataclass(frozen=True, slots=True)
class P0fSignature:
    """One parsed signature; ``None`` fields are wildcards."""

    ver: str  # "4", "6" or "*"
    ittl: int | None
    olen: int | None
    mss: int | None
    wsize_kind: str  # "*", "const", "mss", "mtu", "mod"
    wsize: int | None
    scale: int | None
    olayout: str
    quirks: frozenset[str]
    pclass: str  # "0", "+" or "*"

    @classmethod
    def parse(cls, text: str) -> P0fSignature:
        """Parse a signature; ValueError says which field is wrong."""
        parts = text.strip().split(":")
        if len(parts) != 8:
            raise ValueError(f"p0f signature needs 8 ':'-separated fields, got {len(parts)}")
        ver, ittl, olen, mss, window, olayout, quirks, pclass = parts
        if ver not in ("4", "6", "*"):
            raise ValueError(f"p0f ver {ver!r} is not 4, 6 or '*'")
        ttl_text = ittl.split("+")[0].rstrip("-")
        if "," not in window:
            raise ValueError(f"p0f window field {window!r} needs 'wsize,scale'")
        wsize_text, scale_text = window.split(",", 1)
        if wsize_text == "*":
            kind, wsize = "*", None
        elif wsize_text.startswith(("mss*", "mtu*")):
            kind, wsize = wsize_text[:3], _int_or_star(wsize_text[4:], "wsize multiplier")
        elif wsize_text.startswith("%"):
            kind, wsize = "mod", _int_or_star(wsize_text[1:], "wsize modulus")
            if not wsize:
                raise ValueError("p0f wsize modulus must be positive")
        else:
            kind, wsize = "const", _int_or_star(wsize_text, "wsize")
        if kind != "*" and wsize is None:
            raise ValueError(f"p0f wsize {wsize_text!r} is incomplete")
        if pclass not in ("0", "+", "*"):
            raise ValueError(f"p0f pclass {pclass!r} is not 0, + or '*'")
        return cls(ver, _int_or_star(ttl_text, "ittl"), _int_or_star(olen, "olen"), _int_or_star(mss, "mss"),
                   kind, wsize, _int_or_star(scale_text, "scale"), olayout,
                   frozenset(q for q in quirks.split(",") if q), pclass)

    def layout_key(self) -> str:
        """What an index groups signatures by (the option layout is always concrete in p0f.fp)."""
        return self.olayout

    def matches(self, seen: P0fSignature) -> bool:
        """Does the observed signature ``seen`` (concrete values) fit this database signature?"""
        if self.olayout != seen.olayout or self.quirks != seen.quirks:
            return False
        if self.ver != "*" and seen.ver not in ("*", self.ver):
            return False
        if self.ittl is not None and seen.ittl is not None and not 0 <= self.ittl - seen.ittl <= MAX_DISTANCE:
            return False
        if self.olen is not None and self.olen != seen.olen:
            return False
        if self.mss is not None and self.mss != seen.mss:
            return False
        if self.scale is not None and self.scale != seen.scale:
            return False
        if self.pclass != "*" and seen.pclass not in ("*", self.pclass):
            return False
        return self._window_fits(seen)

    def _window_fits(self, seen: P0fSignature) -> bool:
        if self.wsize_kind == "*":
            return True
        window = seen.wsize
        if window is None or seen.wsize_kind != "const" or self.wsize is None:
            return False
        if self.wsize_kind == "const":
            return window == self.wsize
        if self.wsize_kind == "mod":
            return window % self.wsize == 0
        if seen.mss is None:
            return False
        unit = seen.mss
        if self.wsize_kind == "mtu":
            unit += IPV6_MTU_OVERHEAD if seen.ver == "6" else IPV4_MTU_OVERHEAD
        return window == unit * self.wsize
