"""Whether two `iotwarden analyze` runs stored the same results: every table's rows hashed, and the JSON.

Speed work must not change a result (issue #4): run the same input before and after a change into two
databases (``--db`` and ``--format json --output``) and compare. Rows are compared whole, ids
included, sorted; only the capture row's wall-clock ``started`` and ``finished`` are left out.

    python bench/same_results.py before.db after.db [before.json after.json]
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from pathlib import Path

WALL_CLOCK = {"captures": {"started", "finished"}}  # filled by time.time(), never the same twice


def table_digests(db: Path) -> dict[str, tuple[int, str]]:
    """Per table: (rows, sha256 of its rows sorted)."""
    out = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for table in tables:
            columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')
                       if r[1] not in WALL_CLOCK.get(table, set())]
            select = ", ".join(f'"{c}"' for c in columns)
            rows = sorted(repr(r) for r in conn.execute(f'SELECT {select} FROM "{table}"'))  # noqa: S608
            out[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16])
    return out


def json_digest(path: Path) -> str:
    return hashlib.sha256(json.dumps(json.loads(path.read_text()), sort_keys=True).encode()).hexdigest()[:16]


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 4):
        print(__doc__.strip().splitlines()[-1].strip())
        return 2
    a, b = table_digests(Path(argv[0])), table_digests(Path(argv[1]))
    same = True
    for table in sorted(set(a) | set(b)):
        equal = a.get(table) == b.get(table)
        same &= equal
        if a.get(table, (0, ""))[0] or not equal:
            print(f"{table:24} {a.get(table)} {b.get(table)} {'same' if equal else 'DIFFERENT'}")
    if len(argv) == 4:
        ja, jb = json_digest(Path(argv[2])), json_digest(Path(argv[3]))
        same &= ja == jb
        print(f"{'json output':24} {ja} {jb} {'same' if ja == jb else 'DIFFERENT'}")
    print("same results" if same else "DIFFERENT results")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
