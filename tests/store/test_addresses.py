"""Reading the address history for a run's resolver: MAC devices' tenures only, most recent first, bounded."""

from __future__ import annotations

from iotwarden.model import Device
from iotwarden.store import Store
from iotwarden.store import writer as w
from iotwarden.store.addresses import load_tenures, prior_owners

ROUTER, CAMERA = "c8:bf:4c:77:a0:3a", "78:df:72:24:69:4d"


def _stored(store: Store) -> None:
    history = {
        f"mac:{ROUTER}": {"192.168.1.1": (100.0, 200.0)},
        f"mac:{CAMERA}": {"192.168.1.165": (100.0, 900.0), "fe80::7adf:72ff:fe24:694d": (150.0, 300.0)},
        "ip:192.168.1.1": {"192.168.1.1": (1000.0, 2000.0)},  # an address device: no MAC held it there
        "mac_like:x": {"10.9.9.9": (0.0, 5000.0)},  # not a MAC key, however it starts
    }
    with store.transaction() as session:
        w.merge_devices(session, [Device(key=k, first_seen=0.0, last_seen=1.0, mac=k[4:] if k.startswith("mac:")
                                         else None) for k in history])
        w.merge_device_ips(session, history)


def test_only_mac_devices_tenures_are_read_most_recent_first(store: Store) -> None:
    _stored(store)
    with store.session() as session:
        got = [(t.mac, t.ip, t.first_seen, t.last_seen) for t in load_tenures(session)]
        assert got == [(CAMERA, "192.168.1.165", 100.0, 900.0), (CAMERA, "fe80::7adf:72ff:fe24:694d", 150.0, 300.0),
                       (ROUTER, "192.168.1.1", 100.0, 200.0)]
        assert [t.ip for t in load_tenures(session, limit=1)] == ["192.168.1.165"]
        owners = prior_owners(session)
    assert owners.owner("192.168.1.1", 1500.0) == ROUTER  # the ip: device's own row is no holder
    assert owners.owner("10.9.9.9", 100.0) is None


def test_an_empty_store_holds_no_owner(store: Store) -> None:
    with store.session() as session:
        assert load_tenures(session) == []
        assert len(prior_owners(session)) == 0
