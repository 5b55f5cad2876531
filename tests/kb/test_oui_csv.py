"""The IEEE registry lists as CSV files (kb/oui_csv.py): which copy is read, which registry a text is, the rows."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from iotwarden.errors import ConfigError
from iotwarden.kb import oui, oui_csv, paths

HEADER = "Registry,Assignment,Organization Name,Organization Address\n"


def test_the_user_s_copy_of_a_list_wins_over_the_shipped_one(tmp_path: Path) -> None:
    user, shipped = tmp_path / "user", tmp_path / "shipped"
    user.mkdir()
    shipped.mkdir()
    assert oui_csv.registry_file("mam.csv", user, shipped) is None
    (shipped / "mam.csv.gz").write_bytes(b"")
    assert oui_csv.registry_file("mam.csv", user, shipped) == shipped / "mam.csv.gz"
    (user / "mam.csv").write_text(HEADER)
    assert oui_csv.registry_file("mam.csv", user, shipped) == user / "mam.csv"
    (user / "mam.csv.gz").write_bytes(b"")
    assert oui_csv.registry_file("mam.csv", user, shipped) == user / "mam.csv.gz"


def test_a_list_reads_the_same_plain_or_gzip(tmp_path: Path) -> None:
    text = HEADER + "MA-M,0055DA1,Some Maker Inc,addr\n"
    (tmp_path / "mam.csv").write_text(text)
    (tmp_path / "mam.csv.gz").write_bytes(gzip.compress(text.encode()))
    rows = [("0055DA1", "Some Maker Inc")]
    assert oui_csv.read_registry_csv(tmp_path / "mam.csv", 28) == rows
    assert oui_csv.read_registry_csv(tmp_path / "mam.csv.gz", 28) == rows
    (tmp_path / "bad.csv.gz").write_bytes(b"\x1f\x8bnot gzip")
    with pytest.raises(ConfigError, match="cannot read IEEE registry"):
        oui_csv.read_registry_csv(tmp_path / "bad.csv.gz", 28)


def test_a_damaged_gzip_list_is_a_clear_error(tmp_path: Path) -> None:
    """A gzip header before deflate data zlib refuses (BTYPE 11, reserved: RFC 1951 §3.2.3) escaped as zlib.error,
    an internal error in every command that loads the registry; a truncated one as EOFError (caught already)."""
    whole = gzip.compress((HEADER + "MA-M,0055DA1,Some Maker Inc,addr\n").encode())
    for name, data in (("reserved.csv.gz", whole[:10] + b"\xff" * 20), ("cut.csv.gz", whole[:-12])):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ConfigError, match=f"{name}: cannot read IEEE registry"):
            oui_csv.read_registry_csv(tmp_path / name, 28)


def test_every_shipped_list_reads_with_its_registry_s_prefix_length() -> None:
    for registry, (filename, bits) in oui_csv.REGISTRIES.items():
        rows = oui_csv.read_registry_csv(paths.OUI_DIR / f"{filename}.gz", bits)
        assert rows and all(len(a) == oui_csv.ASSIGNMENT_DIGITS[bits] for a, _ in rows), registry


@pytest.mark.parametrize(("text", "registry"), [
    (HEADER + "MA-S,70B3D5001,Org,\n", "MA-S"),
    (HEADER + "\nIAB,0050C2001,Org,\n", "IAB"),
    (HEADER + "XX-L,001122,Org,\n", None),
    (HEADER, None),
    ("Registry\0,\n\0", None),
])
def test_the_registry_of_a_text_is_its_first_row_s(text: str, registry: str | None) -> None:
    assert oui_csv.registry_of(text) == registry


def test_the_names_are_importable_from_kb_oui_as_before() -> None:
    for name in ("REGISTRIES", "MAX_REGISTRY_ROWS", "parse_registry_csv", "read_registry_csv", "registry_of",
                 "registry_file"):
        assert getattr(oui, name) is getattr(oui_csv, name)


def test_a_gzip_list_that_unpacks_past_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """gzip.decompress unpacked a user's copy whole, however large (a 64 KiB file of zeros is 64 MiB); now
    MAX_REGISTRY_BYTES bounds what is read and what it unpacks to."""
    monkeypatch.setattr(oui_csv, "MAX_REGISTRY_BYTES", 1 << 20)
    (tmp_path / "oui.csv.gz").write_bytes(gzip.compress((HEADER + "MA-L,001122,X,Y\n").encode() + bytes(2 << 20)))
    with pytest.raises(ConfigError, match=r"cannot read IEEE registry: .*unpacks to more than 1,048,576 bytes"):
        oui_csv.read_registry_csv(tmp_path / "oui.csv.gz", 24)
