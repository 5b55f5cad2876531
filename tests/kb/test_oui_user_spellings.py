"""The registry's one spelling of a vendor its registrants spell in several cases holds with the user's own registry
lists too (review of 0377de4).

0377de4 gave VendorNames the registry spellings generated/oui.json holds ('3COM' and '3Com Ltd' -> '3Com') only when
a shipped list was read, so once ``iotwarden kb update --oui`` had installed the user's copy of each of the four
IEEE lists (even copies identical to the shipped ones) the spellings were never read: 3Com's blocks showed '3COM'
and '3Com' again, two vendors in the inventory and its filters, as before 0377de4. The shipped lists' spellings
still name the makers the user's newer lists hold, so they are read whichever lists are used.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from iotwarden.kb import oui, paths

THREE_COM = ("00:50:04", "00:1a:c1")  # 3Com blocks registered '3COM' and '3Com Ltd'


def _names(registry: oui.OuiRegistry) -> tuple[set[str], set[str]]:
    raw = {e.vendor for mac in THREE_COM if (e := registry.lookup(mac)) is not None}
    return raw, {registry.names.canonical(v) for v in raw}


def _user_copies(folder: Path, count: int) -> Path:
    """The first ``count`` shipped lists copied into ``folder`` as the user's own (what kb update installs)."""
    for filename, _ in list(oui.REGISTRIES.values())[:count]:
        shutil.copy(paths.OUI_DIR / f"{filename}.gz", folder / f"{filename}.gz")
    return folder


def test_every_list_the_user_s_own_still_names_each_vendor_one_way(tmp_path: Path) -> None:
    registry = oui.OuiRegistry.load(user_dir=_user_copies(tmp_path, len(oui.REGISTRIES)))
    assert set(registry.sources.values()) <= set(tmp_path.iterdir())  # no shipped list read
    raw, shown = _names(registry)
    assert raw == {"3COM", "3Com"}  # rules still match the registrant's own text
    assert shown == {"3Com"}


def test_some_or_none_of_the_lists_the_user_s_names_each_vendor_one_way(tmp_path: Path) -> None:
    for count in (0, 1):
        folder = tmp_path / str(count)
        folder.mkdir()
        assert _names(oui.OuiRegistry.load(user_dir=_user_copies(folder, count)))[1] == {"3Com"}
