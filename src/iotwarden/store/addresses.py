"""Reading the address history of MAC devices for a run's resolver (inventory/priors.py): which MAC held
which address when, in one bounded query per run.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from iotwarden.inventory.priors import MAX_TENURES, PriorOwners, Tenure
from iotwarden.store.schema import DeviceIpRow


def load_tenures(session: Session, *, limit: int = MAX_TENURES) -> list[Tenure]:
    """The stored (MAC device, address) tenures, most recently seen first, at most ``limit``.

    One pass over ``device_ips`` (a prefix match: a key range would depend on PostgreSQL's collation,
    which may skip punctuation); the table holds one row per device and address, not per sighting."""
    stmt = (
        select(DeviceIpRow.device_key, DeviceIpRow.ip, DeviceIpRow.first_seen, DeviceIpRow.last_seen)
        .where(DeviceIpRow.device_key.startswith("mac:", autoescape=True))
        .order_by(DeviceIpRow.last_seen.desc(), DeviceIpRow.device_key, DeviceIpRow.ip)
        .limit(limit)
    )
    return [Tenure(mac=key[4:], ip=ip, first_seen=first, last_seen=last)
            for key, ip, first, last in session.execute(stmt)]


def prior_owners(session: Session) -> PriorOwners:
    """What the store knows of who held each address, for :meth:`EndpointResolver.use_prior_owners`."""
    return PriorOwners(load_tenures(session))
