"""kb/generated.py: a generated file is checked against what its sources render to, and written; the sources'
digests are kept with their files' stat and taken again when a file changes."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

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


def _edit_keeping_size_and_mtime(path: Path, text: str) -> None:
    """Edit ``path`` and put its size and mtime back; its ctime then differs (the kernel's clock is coarse, a
    jiffy: a test that skips RACY_NS waits one out, as RACY_NS does)."""
    before = path.stat()
    time.sleep(0.02)
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


class _Hasher:
    """The digest of the files' contents, counting how often it is taken."""

    def __init__(self, files: list[Path]) -> None:
        self.files, self.calls = files, 0

    def __call__(self) -> str:
        self.calls += 1
        return hashlib.sha256(b"".join(f.read_bytes() for f in self.files)).hexdigest()


def test_a_kept_digest_serves_while_every_file_keeps_its_stat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generated, "RACY_NS", -1)  # every file old enough to be vouched for by its stat
    files = [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    for f in files:
        f.write_text(f"{f.name}: 1\n", encoding="utf-8")
    stamps, digest = tmp_path / "cache" / "stamps.json", _Hasher(files)
    first = generated.digest_of("rules", files, digest, stamps)
    assert first == digest() and digest.calls == 2 and stamps.is_file()
    assert generated.digest_of("rules", files, digest, stamps) == first and digest.calls == 2  # not hashed
    # an edit of the same size with its mtime put back: its ctime (and a new file's inode) tell it apart
    _edit_keeping_size_and_mtime(files[1], "b.yaml: 2\n")
    edited = generated.digest_of("rules", files, digest, stamps)
    assert edited != first and edited == digest() and digest.calls == 4
    assert generated.digest_of("rules", files, digest, stamps) == edited and digest.calls == 4
    # another list of files, or another kind of digest, is its own
    assert generated.digest_of("rules", files[:1], _Hasher(files[:1]), stamps) != edited
    other = _Hasher(files)
    generated.digest_of("registry", files, other, stamps)
    assert other.calls == 1


def test_a_file_changed_just_now_is_hashed_at_every_start(tmp_path: Path) -> None:
    # git's racy rule: a coarse clock could give an edit made right after the digest was kept the same times
    files = [tmp_path / "a.yaml"]
    files[0].write_text("a: 1\n", encoding="utf-8")
    stamps, digest = tmp_path / "stamps.json", _Hasher(files)
    generated.digest_of("rules", files, digest, stamps)
    generated.digest_of("rules", files, digest, stamps)
    assert digest.calls == 2 and not stamps.exists()


def test_an_unreadable_stamp_file_or_a_missing_source_is_hashed(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generated, "RACY_NS", -1)
    files = [tmp_path / "a.yaml"]
    files[0].write_text("a: 1\n", encoding="utf-8")
    stamps = tmp_path / "stamps.json"
    for bad in ("", "[1]", '{"format": 1, "stamps": []}', '{"format": 99, "stamps": {}}'):
        stamps.write_text(bad, encoding="utf-8")
        digest = _Hasher(files)
        assert generated.digest_of("rules", files, digest, stamps) == digest() and digest.calls == 2
    assert "format" in json.loads(stamps.read_text(encoding="utf-8"))  # rewritten whole
    gone = [tmp_path / "none.yaml"]
    assert generated.digest_of("rules", gone, lambda: "x", stamps) == "x"
    assert generated.digest_of("rules", gone, lambda: "y", stamps) == "y"  # nothing kept for it


def test_the_stamp_file_keeps_at_most_max_stamps_digests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generated, "RACY_NS", -1)
    files = [tmp_path / "a.yaml"]
    files[0].write_text("a: 1\n", encoding="utf-8")
    stamps = tmp_path / "stamps.json"
    for n in range(generated.MAX_STAMPS + 3):
        generated.digest_of(f"kind{n}", files, lambda: "d", stamps)
    kept = json.loads(stamps.read_text(encoding="utf-8"))["stamps"]
    assert len(kept) == generated.MAX_STAMPS
    assert sorted(k.split("\n")[0] for k in kept) == sorted(f"kind{n}" for n in range(3, generated.MAX_STAMPS + 3))


def test_the_stamp_file_lives_in_the_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOTWARDEN_HOME", str(tmp_path / "home"))
    assert generated.stamp_path() == tmp_path / "home" / "cache" / "kb-digests.json"
    monkeypatch.delenv("IOTWARDEN_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert generated.stamp_path() == tmp_path / "xdg" / "iotwarden" / "kb-digests.json"
