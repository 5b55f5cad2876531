"""Quarantine as a policy change: move devices into an isolated zone that reaches nothing but what its
own rules allow (say DNS to the resolver) and that nothing reaches; the original policy is untouched.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from iotwarden.errors import PolicyError
from iotwarden.policy.model import Policy, Rule, Zone, member_key

QUARANTINE = "quarantine"  # name of the isolation zone


def quarantine(policy: Policy, devices: Sequence[str], allow: Sequence[Rule] = ()) -> Policy:
    """A copy of ``policy`` with ``devices`` (device keys ``mac:``/``ip:``) in an isolated zone placed
    first (first zone match wins, so the devices leave their old zones), and ``allow`` as its only rules
    (each must be ``from: quarantine``); other rules from ``any`` never apply to it."""
    if not devices:
        raise PolicyError("quarantine: no device given")
    for rule in allow:
        if rule.src != QUARANTINE:
            raise PolicyError(f"quarantine rule {rule.name!r}: must be from zone {QUARANTINE!r}, not {rule.src!r}")
    out = copy.deepcopy(policy)
    zone = out.zone(QUARANTINE)
    if zone is None:
        zone = Zone(name=QUARANTINE, description="isolated devices (response action)", isolated=True,
                    default="deny", intra="deny")
        out.zones.insert(0, zone)
    elif not zone.isolated:
        raise PolicyError(f"zone {QUARANTINE!r} exists and is not isolated")
    for key in (member_key(d, "quarantine.devices") for d in devices):
        if key not in zone.devices:
            zone.devices.append(key)
    names = {r.name for r in out.rules}
    out.rules[:0] = [copy.deepcopy(r) for r in allow if r.name not in names]
    return out


def release(policy: Policy, devices: Sequence[str]) -> Policy:
    """The reverse of :func:`quarantine`: the devices leave the isolation zone (every action is reversible)."""
    out = copy.deepcopy(policy)
    zone = out.zone(QUARANTINE)
    if zone is not None:
        gone = {member_key(d, "release.devices") for d in devices}
        zone.devices = [d for d in zone.devices if d not in gone]
    return out
