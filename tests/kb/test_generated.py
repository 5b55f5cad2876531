"""kb/generated.py: a generated file is checked against what its sources render to, and written."""

from __future__ import annotations

from pathlib import Path

from iotwarden.kb import generated


def test_a_generated_file_is_missing_stale_or_up_to_date(tmp_path: Path) -> None:
    path = tmp_path / "generated" / "x.json"
    missing = generated.problem(path, lambda: "{}\n")
    assert missing is not None and "missing" in missing and "kb check --fix" in missing
    generated.write(path, "{}\n")  # its folder made
    assert path.read_text(encoding="utf-8") == "{}\n"
    assert generated.problem(path, lambda: "{}\n") is None
    stale = generated.problem(path, lambda: '{"a": 1}\n')
    assert stale is not None and "stale" in stale and "commit it" in stale


def test_render_is_not_called_for_a_missing_file(tmp_path: Path) -> None:
    def render() -> str:
        raise AssertionError("compiling the sources for a file that is not there")

    assert generated.problem(tmp_path / "none.json", render) is not None


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    generated.write(path, "old\n")
    generated.write(path, "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]
