"""Inventory diff: which devices are new, gone or changed between two runs' snapshots
(``inventory_snapshots``, written per analysed capture by store/writer.py ``write_snapshot``).
"""

from __future__ import annotations

from typing import Any

# the facts compared, in the order they are reported (store/writer.py snapshot_facts)
COMPARED = ("vendor", "model", "device_type", "category", "os", "os_version", "firmware", "ips", "hostnames")

Facts = dict[str, Any]


def _norm(value: Any) -> Any:
    return sorted(value) if isinstance(value, list) else value


def changes(before: Facts, after: Facts) -> dict[str, dict[str, Any]]:
    """Per changed fact: ``{"from": old, "to": new}``; lists also say what was ``added``/``removed``.

    A classified fact that became unknown (None) in the later run is not a change: a run that saw
    less of a device says less, it does not contradict the earlier one.
    """
    out: dict[str, dict[str, Any]] = {}
    for name in COMPARED:
        old, new = _norm(before.get(name)), _norm(after.get(name))
        if old == new or (new is None and name not in ("ips", "hostnames")):
            continue
        if isinstance(old, list) or isinstance(new, list):
            was, now = set(old or []), set(new or [])
            added, removed = sorted(now - was), sorted(was - now)
            if not added and not removed:
                continue
            out[name] = {"from": old or [], "to": new or [], "added": added, "removed": removed}
        else:
            out[name] = {"from": old, "to": new}
    return out


def diff(before: dict[str, Facts], after: dict[str, Facts]) -> dict[str, Any]:
    """New devices (only in ``after``), gone devices (only in ``before``) and changed ones, by key."""
    new = [{"key": k, **after[k]} for k in sorted(set(after) - set(before))]
    gone = [{"key": k, **before[k]} for k in sorted(set(before) - set(after))]
    changed = []
    for key in sorted(set(before) & set(after)):
        delta = changes(before[key], after[key])
        if delta:
            changed.append({"key": key, "changes": delta})
    return {"new": new, "gone": gone, "changed": changed}
