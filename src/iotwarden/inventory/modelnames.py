"""Model names as devices state them, brought to one spelling per product before the classifier weighs
them: names that differ only by the vendor's name in front ("AXIS M3045-V" and "M3045-V" of an Axis
device) or by case, spaces or punctuation ("VVX_450", "VVX 450") are one value.
"""

# Devices name their model in many fields (an mDNS instance or TXT record, a DHCP vendor class, an
# HTTP Server header, an OT identity object), each with its own habits: some put the maker in front,
# some use underscores for spaces. Without one spelling, two sources naming the same model would
# compete instead of reinforcing each other. A model stated by evidence that names another vendor
# than the one concluded describes another product (a phone's app talking to a camera cloud) and
# is not counted for this device.

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from types import MappingProxyType

from iotwarden.kb.index import Match
from iotwarden.kb.oui import VendorNames

MAX_VENDOR_WORDS = 2  # leading words of a model tried as a vendor name ("Hewlett Packard LaserJet ...")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def model_key(text: str) -> str:
    """The comparison key of a model name: lower-case letters and digits only ("VVX_450" -> "vvx450")."""
    return _NOT_ALNUM.sub("", text.casefold())


def same_model(a: str, b: str) -> bool:
    """True when two model names are one spelling of each other, or one names the other more fully
    ("Chromecast" and "Chromecast with Google TV"); names without letters or digits never match."""
    ka, kb = model_key(a), model_key(b)
    return bool(ka and kb) and (ka in kb or kb in ka)


def without_vendor(model: str, vendor: str | None, names: VendorNames) -> str:
    """``model`` without the vendor's name in front (the vendor, an alias of it or a brand it owns).

    Used to compare names only: a product name that starts with its brand ("Apple TV 4K") is shown as
    stated. The shortest leading words naming the vendor are dropped ("HP LaserJet" loses "HP").
    """
    text = " ".join(model.split())
    if not vendor:
        return text
    words = text.split(" ")
    for n in range(1, min(MAX_VENDOR_WORDS, len(words) - 1) + 1):
        head = " ".join(words[:n])
        named = names.canonical(head)
        if vendor.casefold() in (head.casefold(), named.casefold()) or names.related(named, vendor):
            return " ".join(words[n:])
    return text


def unify(matches: Iterable[Match], vendor: str | None, names: VendorNames) -> list[Match]:
    """The model-stating matches of a device, each model in the one spelling its product gets.

    ``vendor`` is the vendor concluded for the device (None: unknown). A match that also names a
    vendor unrelated to it is left out. Names are one model when their keys without the vendor's
    name are equal; the spelling shown is the strongest match's as stated (ties: the longer, then
    the first in alphabetical order).
    """
    kept: list[tuple[Match, str, str]] = []  # match, name as stated, comparison key
    for m in matches:
        model = m.conclusions.get("model")
        if not model:
            continue
        stated = m.conclusions.get("vendor")
        if vendor and stated and not names.related(names.canonical(stated), vendor):
            continue
        key = model_key(without_vendor(model, vendor or (names.canonical(stated) if stated else None), names))
        if key:
            kept.append((m, " ".join(model.split()), key))
    spelling: dict[str, tuple[float, int, str]] = {}
    for m, text, key in kept:
        rank = (m.weight, len(text), text)
        best = spelling.get(key)
        if best is None or rank[:2] > best[:2] or (rank[:2] == best[:2] and text < best[2]):
            spelling[key] = rank
    out = []
    for m, _, key in kept:
        display = spelling[key][2]
        out.append(m if display == m.conclusions["model"] else
                   replace(m, conclusions=MappingProxyType({**m.conclusions, "model": display})))
    return out
