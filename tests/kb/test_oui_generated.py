"""The registry's generated files (kb/oui_generated.py): rendered from the shipped lists, read back, checked."""

from __future__ import annotations

import gzip
from pathlib import Path

from iotwarden.kb import oui, oui_generated

HEADER = "Registry,Assignment,Organization Name,Organization Address\n"


def _shipped(folder: Path, ma_l: str) -> Path:
    folder.mkdir()
    (folder / "oui.csv.gz").write_bytes(gzip.compress((HEADER + ma_l).encode()))
    return folder


def test_a_rendered_cache_reads_back_as_the_lists_rows(tmp_path: Path) -> None:
    shipped = _shipped(tmp_path / "shipped", 'MA-L,00408C,"AXIS COMMUNICATIONS AB",addr\nMA-L,B827EB,Ræspberry,\n')
    cache = tmp_path / "oui.json"
    cache.write_text(oui_generated.render_cache(shipped), encoding="utf-8")
    assert oui_generated.read_cache(shipped, cache) == {
        "MA-L": [["00408C", "B827EB"], ["AXIS COMMUNICATIONS AB", "Ræspberry"]]}
    other = _shipped(tmp_path / "other", "MA-L,00408C,Newer Name,\n")
    assert oui_generated.shipped_digest(other) != oui_generated.shipped_digest(shipped)
    assert oui_generated.read_cache(other, cache) is None  # made from other lists


def test_a_missing_generated_file_is_a_problem_and_writing_it_cures_it(tmp_path: Path) -> None:
    path = tmp_path / "oui.json"
    assert oui_generated.cache_problem(path) is not None
    oui_generated.write_cache(path)
    assert oui_generated.cache_problem(path) is None


def test_the_names_are_importable_from_kb_oui_as_before() -> None:
    for name in ("CACHE_FORMAT", "shipped_digest", "render_cache", "render_spellings", "read_cache", "cache_problem",
                 "write_cache", "spellings_problem", "write_spellings"):
        assert getattr(oui, name) is getattr(oui_generated, name)
