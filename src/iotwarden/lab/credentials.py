"""The default Telnet credentials the lab's Mirai-style brute force tries, with Mirai's weights.

Written from public reporting on the Mirai source release (2016): a subset of the pairs its scanner
tries and their relative weights. Shipped on its own so the generator needs no external data.
"""

from __future__ import annotations

import random

# (username, password, weight): a higher weight is tried more often (Mirai scanner.c add_auth_entry)
MIRAI_CREDENTIALS: tuple[tuple[str, str, int], ...] = (
    ("root", "xc3511", 10), ("root", "vizxv", 9), ("root", "admin", 8), ("admin", "admin", 7),
    ("root", "888888", 6), ("root", "xmhdipc", 5), ("root", "default", 5), ("root", "juantech", 5),
    ("root", "123456", 5), ("root", "54321", 5), ("support", "support", 5), ("root", "", 4),
    ("admin", "password", 4), ("root", "root", 4), ("root", "12345", 4), ("user", "user", 3),
    ("admin", "", 3), ("root", "pass", 3), ("admin", "admin1234", 3), ("root", "1111", 3),
    ("admin", "smcadmin", 3), ("root", "666666", 2), ("root", "password", 2), ("root", "1234", 2),
)


def pick_credentials(rng: random.Random, count: int,
                     table: tuple[tuple[str, str, int], ...] = MIRAI_CREDENTIALS) -> list[tuple[str, str]]:
    """``count`` distinct pairs drawn by weight, the way the scanner picks one per connection."""
    pool = list(table)
    out: list[tuple[str, str]] = []
    while pool and len(out) < count:
        user, password, _ = rng.choices(pool, weights=[w for *_, w in pool])[0]
        out.append((user, password))
        pool = [c for c in pool if (c[0], c[1]) != (user, password)]
    return out
