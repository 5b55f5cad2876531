"""Reading the address history of MAC devices for a run's resolver (inventory/priors.py): which MAC held
which address when, in one bounded query per run; and folding a stored ``ip:`` device into the MAC device
that history says held its address all the while it was seen (store/merge.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from iotwarden.inventory.addresses import unzoned
from iotwarden.inventory.priors import MAX_TENURES, MAX_TENURES_PER_MAC, PriorOwners, Tenure
from iotwarden.store.merge import MergeResult, merge_device
from iotwarden.store.schema import DeviceIpRow, DeviceRow
from iotwarden.store.writer import KEY_CHUNK, Reclassify

ADDRESS_PREFIX, MAC_PREFIX = "ip:", "mac:"


def _tenures(rows: Iterable[Sequence[Any]]) -> list[Tenure]:
    return [Tenure(mac=key[len(MAC_PREFIX):], ip=ip, first_seen=first, last_seen=last, domain=domain)
            for key, ip, first, last, domain in rows]


# (device key, address, first seen, last seen, broadcast domain) rows of device_ips
TENURES = select(DeviceIpRow.device_key, DeviceIpRow.ip, DeviceIpRow.first_seen, DeviceIpRow.last_seen,
                 DeviceIpRow.domain)


def load_tenures(session: Session, *, limit: int = MAX_TENURES) -> list[Tenure]:
    """The stored (MAC device, address) tenures, most recently seen first, at most ``limit``.

    One pass over ``device_ips`` (a prefix match: a key range would depend on PostgreSQL's collation,
    which may skip punctuation); the table holds one row per device and address, not per sighting."""
    stmt = (
        TENURES
        .where(DeviceIpRow.device_key.startswith(MAC_PREFIX, autoescape=True))
        .order_by(DeviceIpRow.last_seen.desc(), DeviceIpRow.device_key, DeviceIpRow.ip)
        .limit(limit)
    )
    return _tenures(session.execute(stmt))


def prior_owners(session: Session) -> PriorOwners:
    """What the store knows of who held each address, for :meth:`EndpointResolver.use_prior_owners`."""
    return PriorOwners(load_tenures(session))


def _owners_of(session: Session, ips: list[str]) -> PriorOwners:
    """The stored tenures of these addresses (plain: every domain's), and every address their MACs held (the
    router test)."""
    holders: set[str] = set()
    for i in range(0, len(ips), KEY_CHUNK):
        held = select(DeviceIpRow.device_key).where(DeviceIpRow.ip.in_(ips[i:i + KEY_CHUNK]),
                                                    DeviceIpRow.device_key.startswith(MAC_PREFIX, autoescape=True))
        holders.update(session.scalars(held))
    rows: list[tuple[str, str, float, float, str]] = []
    for key in sorted(holders):  # past MAX_TENURES_PER_MAC a MAC is a router's (PriorOwners.crowded)
        stmt = (TENURES.where(DeviceIpRow.device_key == key)
                .order_by(DeviceIpRow.last_seen.desc(), DeviceIpRow.ip).limit(MAX_TENURES_PER_MAC + 1))
        rows.extend((key_, ip, first, last, domain) for key_, ip, first, last, domain in session.execute(stmt))
    rows.sort(key=lambda r: (-r[3], r[0], r[1], r[4]))
    return PriorOwners(_tenures(rows))


def fold_address_devices(session: Session, history: Mapping[str, Iterable[str]], *,
                         reclassify: Reclassify | None = None) -> list[MergeResult]:
    """Fold each stored ``ip:<address>`` device whose address a MAC device of ``history`` (a run's address
    history: device key -> its addresses, zoned within their broadcast domain as the ``ip:`` device's key is,
    ``ip:10.0.0.5%vlan10``; EndpointResolver.ip_history) held into the MAC device that held the address from the ip:
    device's first to its last sighting by the stored history (:meth:`PriorOwners.owner_throughout`: one
    holder within a day, never a router's MAC), reclassified over everything stored (``reclassify``). In
    ``session``'s transaction, after the run wrote its address history; returns what was merged."""
    wanted = sorted({ip for key, ips in history.items() if key.startswith(MAC_PREFIX) for ip in ips})
    found: list[DeviceRow] = []
    for i in range(0, len(wanted), KEY_CHUNK):
        keys = [ADDRESS_PREFIX + ip for ip in wanted[i:i + KEY_CHUNK]]
        found.extend(session.scalars(select(DeviceRow).where(DeviceRow.key.in_(keys))))
    if not found:
        return []
    owners = _owners_of(session, sorted({unzoned(row.key[len(ADDRESS_PREFIX):]) for row in found}))
    plan = [(row.key, owners.owner_throughout(row.key[len(ADDRESS_PREFIX):], row.first_seen, row.last_seen))
            for row in sorted(found, key=lambda r: r.key)]
    return [merge_device(session, key, MAC_PREFIX + mac, reason="address_tenure", reclassify=reclassify)
            for key, mac in plan if mac is not None]
