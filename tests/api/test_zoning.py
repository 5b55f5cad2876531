"""The zone facet: every stored device's zone under the last saved policy (first selecting zone, else the
zone of its subnet), recomputed when a new policy version is saved."""

from __future__ import annotations

import ipaddress

from sqlalchemy import select

from iotwarden.api import zoning
from iotwarden.policy import storage
from iotwarden.policy.model import load_text
from iotwarden.store import Store
from iotwarden.store.schema import DeviceRow
from tests.api.conftest import CAMERA

SITE = f"""
name: site
zones:
  - name: quarantine
    isolated: true
    devices: ["{CAMERA}"]
  - name: ot
    categories: [ot]
  - name: cameras
    device_types: [camera]
  - name: servers
    subnets: [10.10.10.0/24]
rules: []
"""
SERVERS = ipaddress.ip_network("10.10.10.0/24")


def expected_zone(row: DeviceRow) -> str | None:
    """SITE's zones spelled out: the first that selects the device, else the subnet's zone."""
    if row.key == CAMERA:
        return "quarantine"
    if (row.category or "").lower() == "ot":
        return "ot"
    if (row.device_type or "").lower() == "camera":
        return "cameras"
    if any(ipaddress.ip_address(ip) in SERVERS for ip in row.ips if "." in ip):
        return "servers"
    return None


def test_without_a_saved_policy_no_device_has_a_zone(store: Store) -> None:
    with store.session() as session:
        index = zoning.build(session)
        assert index.policy is None and index.zone_of == {} and index.counts() == []
        assert list(session.scalars(select(DeviceRow.key).where(index.clause("ot", "sqlite")))) == []


def test_each_device_is_in_the_first_zone_that_selects_it_else_its_subnets(store: Store) -> None:
    storage.save(store, load_text(SITE), "test")
    with store.session() as session:
        index = zoning.build(session)
        rows = list(session.scalars(select(DeviceRow)))
        for row in rows:
            want = expected_zone(row)
            got = index.zone_of.get(row.key)
            if want is not None:
                assert got == want, row.key
            else:  # unzoned on site; only an off-site address puts a device in "internet"
                assert got in (None, "internet"), row.key
                assert got is None or not all(ipaddress.ip_address(ip).is_private for ip in row.ips)
        for zone in ("quarantine", "ot", "cameras", "servers"):
            members = {r.key for r in rows if expected_zone(r) == zone}
            assert members, zone  # the demo network has devices in each
            assert set(session.scalars(select(DeviceRow.key).where(index.clause(zone, "sqlite")))) == members
        assert dict(index.counts())["quarantine"] == 1
        assert index.policy == "site" and index.version == 1


def test_the_cache_follows_new_policy_versions(store: Store) -> None:
    cache = zoning.cache()
    with store.session() as session:
        assert cache.get(session).policy is None
    storage.save(store, load_text(SITE), "first")
    with store.session() as session:
        first = cache.get(session)
        assert first.version == 1 and cache.get(session) is first  # nothing moved: the same index
    storage.save(store, load_text(SITE.replace(f'devices: ["{CAMERA}"]', "devices: []")), "camera released")
    with store.session() as session:
        second = cache.get(session)
    assert second.version == 2 and second.zone_of[CAMERA] == "cameras"
