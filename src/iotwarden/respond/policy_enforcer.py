"""The policy-backed quarantine enforcer: a device is quarantined by moving it into the stored
segmentation policy's isolated zone (:func:`iotwarden.policy.quarantine.quarantine`), saving that as a
new policy version and loading the re-rendered ruleset (one firewall table, one isolation rule set).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from iotwarden.policy import nftables, storage
from iotwarden.policy.match import resolve
from iotwarden.policy.model import Policy, Rule
from iotwarden.policy.observed import stored_devices
from iotwarden.policy.quarantine import quarantine, release
from iotwarden.respond.quarantine import QuarantineTarget
from iotwarden.store import Store

Loader = Callable[..., None]  # nftables.apply's signature: (ruleset, *, netns, confirm)


def member_keys(target: QuarantineTarget) -> list[str]:
    """The zone entries that catch every address of the device (its MAC and each IP)."""
    return ([f"mac:{target.mac}"] if target.mac else []) + [f"ip:{ip}" for ip in target.ips]


@dataclass
class PolicyEnforcer:
    """Quarantines inside stored policy ``policy`` (its latest version): each apply/release stores a new
    version (comment ``quarantine KEY`` / ``release KEY``) and loads its ruleset with
    :func:`iotwarden.policy.nftables.apply` into ``netns`` (or this host with ``confirm``). ``allow``
    are the rules a quarantined device keeps (each ``from: quarantine``). ``load=False`` stores and
    renders only (a dry run that still records the policy change). ``resolved`` fills the domain rules'
    address sets (:meth:`iotwarden.policy.names.NameMap.for_policy`); without it they match nothing."""

    store: Store
    policy: str
    allow: Sequence[Rule] = ()
    netns: str | None = None
    confirm: bool = False
    load: bool = True
    loader: Loader = nftables.apply
    resolved: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def _change(self, change: Callable[[Policy], Policy], comment: str) -> str:
        current = storage.load(self.store, self.policy)
        changed = change(current)
        storage.save(self.store, changed, comment)
        ruleset = nftables.render(changed, resolve(changed, stored_devices(self.store)), self.resolved)
        if self.load:
            self.loader(ruleset, netns=self.netns, confirm=self.confirm)
        return ruleset

    def apply(self, target: QuarantineTarget) -> str:
        return self._change(lambda p: quarantine(p, member_keys(target), self.allow), f"quarantine {target.key}")

    def release(self, target: QuarantineTarget) -> str:
        return self._change(lambda p: release(p, member_keys(target)), f"release {target.key}")
