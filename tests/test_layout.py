"""Tests mirror the source tree (STYLE 12, like mitmproxy's test/filename_matching.py).

Each module ``src/iotwarden/a/b.py`` has ``tests/a/test_b.py`` (or ``tests/a/test_b_*.py``). The few
modules whose behaviour is pinned elsewhere are listed below with the test that covers them; that
test must exist, so the list cannot rot.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "iotwarden"
TESTS = REPO / "tests"

COVERED_ELSEWHERE: dict[str, str] = {
    # firmware extraction helpers are exercised through the driver on real images
    "firmware/analyze.py": "tests/cli/test_firmware.py",
    "firmware/catalog.py": "tests/firmware/test_components.py",
    "firmware/extract/archives.py": "tests/firmware/test_extract.py",
    "firmware/extract/driver.py": "tests/firmware/test_extract.py",
    "firmware/extract/filesystems.py": "tests/firmware/test_extract.py",
    "firmware/extract/streams.py": "tests/firmware/test_extract.py",
    "firmware/extract/tools.py": "tests/firmware/test_extract.py",
    "firmware/hardening/base.py": "tests/firmware/hardening/test_accounts.py",
    "firmware/vulndb/match.py": "tests/firmware/vulndb/test_store.py",
    "firmware/vulndb/records.py": "tests/firmware/vulndb/test_importers.py",
    # store table modules: tests/store/test_schema.py checks every model against the migrations
    "store/firmware_models.py": "tests/firmware/vulndb/test_store.py",
    "store/firmware_ota_models.py": "tests/firmware/ota/test_service.py",
    "store/inventory_models.py": "tests/store/test_schema.py",
}


def _expected(module: Path) -> list[Path]:
    rel = module.relative_to(SRC)
    folder = TESTS / rel.parent
    return [folder / f"test_{module.stem}.py", *folder.glob(f"test_{module.stem}_*.py")]


def test_every_module_has_its_test_file() -> None:
    missing = []
    for module in sorted(SRC.rglob("*.py")):
        rel = module.relative_to(SRC).as_posix()
        if module.name == "__init__.py" or "/migrations/" in f"/{rel}":
            continue
        if rel in COVERED_ELSEWHERE:
            assert (REPO / COVERED_ELSEWHERE[rel]).exists(), f"{rel}: {COVERED_ELSEWHERE[rel]} is gone"
            continue
        if not any(p.exists() for p in _expected(module)):
            missing.append(f"{rel} -> tests/{Path(rel).parent / ('test_' + module.stem + '.py')}")
    assert not missing, "modules without a test file:\n" + "\n".join(missing)


def test_every_test_folder_is_a_package() -> None:
    folders = {p.parent for p in TESTS.rglob("test_*.py")}
    bare = [str(f) for f in folders if not (f / "__init__.py").exists()]
    assert not bare, bare
