"""One device, not two, when a capture shows a site address only as a destination: the NKU plug's DNS
queries to its router (192.168.1.1) get no answer in its captures, while the camera's captures of the
same morning saw the router answer DHCP and DNS. Analysed into one store, in ``analyze``, a worker's run
and ``monitor`` alike, the router is its MAC's device (inventory/priors.py), in either order: an ``ip:``
device stored before its owner's capture is folded into the MAC's device afterwards (store/merge.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from iotwarden.services.analyze import analyze
from iotwarden.services.feed import Feed
from iotwarden.services.inventory import show_device
from iotwarden.services.monitor import Monitor
from iotwarden.services.records import Encoder, decode, tick_of
from iotwarden.services.runstate import RunState
from iotwarden.store import Store
from iotwarden.store import writer as w
from iotwarden.store.addresses import prior_owners
from iotwarden.store.alert_models import AlertRow, FindingRow
from iotwarden.store.inventory_models import SnapshotRow
from iotwarden.store.schema import DeviceIpRow, DeviceRow, EvidenceRow
from tests.conftest import shared

ROUTER_IP, ROUTER = "192.168.1.1", "mac:c8:bf:4c:77:a0:3a"
ADDRESS_DEVICE = f"ip:{ROUTER_IP}"
# 04:34-05:43 UTC: the router answers the camera's DHCP and DNS (it owns 192.168.1.1)
OWNING = shared("pcaps", "nku_lifecycle", "pcaps", "xiaobai_Y2camera_lifecycle", "xiaobai_Y2camera_setup.pcap")
# 07:27 and 08:0x UTC: the plug's DNS queries to 192.168.1.1 unanswered (only the router's MAC carries it)
ADDRESS_ONLY = shared("pcaps", "nku_lifecycle", "pcaps", "xiaodu_plug_lifecycle", "xiaodu_plug_setup.pcap")
ADDRESS_ONLY_LATER = shared("pcaps", "nku_lifecycle", "pcaps", "xiaodu_plug_lifecycle",
                            "xiaodu_plug_idle_on_local.pcap")
WEEK = 7 * 86_400.0


def _keys(store: Store) -> set[str]:
    with store.session() as session:
        return set(session.scalars(select(DeviceRow.key)))


def _packets(store: Store) -> dict[str, int]:
    with store.session() as session:
        return {r.key: r.packets for r in session.scalars(select(DeviceRow))}


def _references(store: Store, key: str) -> dict[str, int]:
    with store.session() as session:
        return {table.__tablename__: len(list(session.scalars(select(table).where(table.device_key == key))))
                for table in (DeviceIpRow, EvidenceRow, SnapshotRow, FindingRow, AlertRow)}


@pytest.fixture(scope="module")
def apart(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """Packets per device key when each capture is analysed into a store of its own."""
    out: dict[str, int] = {}
    for i, capture in enumerate((OWNING, ADDRESS_ONLY)):
        with Store(f"sqlite:///{tmp_path_factory.mktemp('apart') / f'{i}.db'}") as store:
            analyze([capture], store)
            for key, packets in _packets(store).items():
                out[key] = out.get(key, 0) + packets
    return out


def test_each_capture_alone_keys_the_router_as_it_can(apart: dict[str, int]) -> None:
    assert ADDRESS_DEVICE in apart and ROUTER in apart  # the premise: alone, the plug's capture cannot tell


def test_the_address_goes_to_the_mac_that_held_it_that_morning(tmp_path: Path, apart: dict[str, int]) -> None:
    with Store(f"sqlite:///{tmp_path / 'one.db'}") as store:
        analyze([OWNING, ADDRESS_ONLY], store)
        assert ADDRESS_DEVICE not in _keys(store)
        assert _packets(store)[ROUTER] == apart[ROUTER] + apart[ADDRESS_DEVICE]  # its flows counted once, there
        assert not any(_references(store, ADDRESS_DEVICE).values())  # no evidence, finding, alert or snapshot
        with store.session() as session:
            tenure = session.scalars(select(DeviceIpRow).where(DeviceIpRow.ip == ROUTER_IP)).one()
            snapshots = session.scalars(select(SnapshotRow).where(SnapshotRow.device_key == ROUTER)).all()
        assert tenure.device_key == ROUTER and tenure.last_seen > tenure.first_seen + 3600  # into the plug's capture
        assert len(snapshots) == 2 and all(ROUTER_IP in s.facts["ips"] for s in snapshots)


def test_in_reverse_order_the_stored_address_device_is_folded_into_the_mac(
        tmp_path: Path, apart: dict[str, int]) -> None:
    # history is read at the start of each file, so the plug's capture analysed first (nothing stored yet)
    # keeps its ip: device; the router's capture then stores the MAC's tenure of the address within a day of
    # the ip: device's sightings, and the ip: device is folded into the MAC's (store/merge.py)
    with Store(f"sqlite:///{tmp_path / 'reverse.db'}") as store:
        analyze([ADDRESS_ONLY], store)
        assert ADDRESS_DEVICE in _keys(store)
        report = analyze([OWNING], store)
        assert report.files[0].stats["inventory"]["folded"] == {ADDRESS_DEVICE: ROUTER}
        assert ADDRESS_DEVICE not in _keys(store)
        assert _packets(store)[ROUTER] == apart[ROUTER] + apart[ADDRESS_DEVICE]
        assert not any(_references(store, ADDRESS_DEVICE).values())
        with store.session() as session:
            snapshots = session.scalars(select(SnapshotRow).where(SnapshotRow.device_key == ROUTER)).all()
        assert len(snapshots) == 2  # the plug's run's snapshot of the address is the router's now
        shown = show_device(store, ADDRESS_DEVICE)
        assert shown["key"] == ROUTER and shown["merged"]["reason"] == "address_tenure"
        assert [a["key"] for a in shown["aliases"]] == [ADDRESS_DEVICE]
        analyze([ADDRESS_ONLY_LATER], store)  # later captures go to the MAC, as before
        assert ADDRESS_DEVICE not in _keys(store)


def test_either_order_stores_the_same_devices(tmp_path: Path) -> None:
    orders = {}
    for name, captures in (("forward", [OWNING, ADDRESS_ONLY]), ("reverse", [ADDRESS_ONLY, OWNING])):
        with Store(f"sqlite:///{tmp_path / f'{name}.db'}") as store:
            for capture in captures:
                analyze([capture], store)
            with store.session() as session:
                orders[name] = {r.key: (r.packets, r.first_seen, r.last_seen, r.vendor, r.device_type)
                                for r in session.scalars(select(DeviceRow))}
    assert orders["forward"] == orders["reverse"]


def test_an_address_held_a_week_before_may_be_another_devices_now(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'reuse.db'}") as store:
        analyze([OWNING], store)
        with store.transaction() as session:  # the router's tenure a week before the plug's capture
            session.execute(update(DeviceIpRow).values(first_seen=DeviceIpRow.first_seen - WEEK,
                                                       last_seen=DeviceIpRow.last_seen - WEEK))
        analyze([ADDRESS_ONLY], store)
        assert {ADDRESS_DEVICE, ROUTER} <= _keys(store)  # two devices: DHCP may have given it to another


def test_an_address_device_a_week_from_the_macs_tenure_is_not_folded(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'reuse_reverse.db'}") as store:
        analyze([ADDRESS_ONLY], store)
        with store.transaction() as session:  # the plug's sighting of the address a week before the router's
            session.execute(update(DeviceRow).where(DeviceRow.key == ADDRESS_DEVICE).values(
                first_seen=DeviceRow.first_seen - WEEK, last_seen=DeviceRow.last_seen - WEEK))
        report = analyze([OWNING], store)
        assert "folded" not in report.files[0].stats["inventory"]
        assert {ADDRESS_DEVICE, ROUTER} <= _keys(store)


def _messages(capture: Path) -> list[bytes]:
    enc = Encoder("hq", "run", str(capture), max_bytes=32 * 1024)
    out = [p for b in Feed(capture, "capture").batches()
           for _, p in enc.batch(b.observations, b.flows, tick=tick_of(b.ts, b.flows), packets=b.packets)]
    return [*out, *(p for _, p in enc.batch([], [], tick=None, end=True, stats={"status": "complete"}))]


def _monitor(store: Store | None) -> Monitor:
    mon = Monitor(store=store)
    mon.process_file(ADDRESS_ONLY)
    mon.finish()
    return mon


def test_a_workers_run_and_monitor_read_the_history_too(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'live.db'}") as store:
        analyze([OWNING], store)
        with store.session() as session:
            run = RunState("hq", "run", prior_owners=prior_owners(session))
        for payload in _messages(ADDRESS_ONLY):
            run.feed(decode(payload))
        assert run.ended and ADDRESS_DEVICE not in run.ctx.devices and ROUTER_IP in run.ctx.devices[ROUTER].ips
        mon = _monitor(store)
        assert ADDRESS_DEVICE not in mon.ctx.devices and ROUTER_IP in mon.ctx.devices[ROUTER].ips
    assert ADDRESS_DEVICE in _monitor(None).ctx.devices  # no store, no history: the run alone cannot tell


def test_a_workers_run_folds_a_stored_address_device_at_its_end(tmp_path: Path, apart: dict[str, int]) -> None:
    with Store(f"sqlite:///{tmp_path / 'worker.db'}") as store:
        analyze([ADDRESS_ONLY], store)
        run = RunState("hq", "run")
        for payload in _messages(OWNING):
            run.feed(decode(payload))
        with store.transaction() as session:
            capture = w.begin_capture(session, path="nats://hq/run", sha256=None, size=0, fmt="nats")
            done = run.checkpoint(session, capture.id)
        assert run.ended and done.folded == {ADDRESS_DEVICE: ROUTER}
        assert ADDRESS_DEVICE not in _keys(store)
        assert _packets(store)[ROUTER] == apart[ROUTER] + apart[ADDRESS_DEVICE]
