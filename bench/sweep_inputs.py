"""What the capture sweeps (qa_captures.py, resegment.py, snaplen.py) read: the shared captures, told by their
magic whatever their names, and the lab scenarios generated into a work folder."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

PCAPS = Path("/work/shared/data/pcaps")
SCENARIOS = Path(__file__).resolve().parent.parent / "src" / "iotwarden" / "lab" / "scenarios"
# pcap (microseconds, nanoseconds; both byte orders) and pcapng; a gzip file counts when named .gz
MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a")
GZIP = b"\x1f\x8b"


def is_capture(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(4)
    return head in MAGICS or (path.suffix == ".gz" and head[:2] == GZIP)


def select(root: Path, match: str | None = None, per_folder: int | None = None, max_mb: float | None = None,
           keep: Callable[[Path], bool] | None = None) -> list[Path]:
    """Captures under ``root`` (sorted), those whose path holds ``match``, at most ``per_folder`` of each folder
    and ``max_mb`` MiB each, that ``keep`` accepts."""
    taken: Counter[Path] = Counter()
    out: list[Path] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if match is not None and match not in str(path):
            continue
        if per_folder is not None and taken[path.parent] >= per_folder:
            continue
        if max_mb is not None and path.stat().st_size > max_mb * 2**20:
            continue
        if not is_capture(path) or (keep is not None and not keep(path)):
            continue
        taken[path.parent] += 1
        out.append(path)
    return out


def lab_captures(work: Path, duration: float | None = None) -> list[Path]:
    """Every lab scenario generated into ``work`` (its ground truth beside it), ``duration`` seconds each when
    given, else the scenario's own."""
    from iotwarden.lab.generator import generate, load_scenario  # only sweeps of the lab pay for its import

    out = []
    for yaml in sorted(SCENARIOS.glob("*.yaml")):
        pcap = work / f"lab-{yaml.stem}.pcap"
        generate(load_scenario(yaml), pcap, work / f"lab-{yaml.stem}.json", duration=duration)
        out.append(pcap)
    return out
