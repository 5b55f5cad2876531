"""The worker against the real local NATS server: what a sensor publishes of a lab capture is stored exactly
as ``iotwarden analyze`` stores it (SQLite and PostgreSQL); a batch delivered again is not stored twice; a
malformed message is counted and terminated, never fatal; two sites stay apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import iotwarden.services.worker as worker_mod
from iotwarden.bus.jetstream import STREAM, NatsLink, records_subject
from iotwarden.services.analyze import analyze
from iotwarden.services.sensor import Sensor
from iotwarden.services.worker import Worker
from iotwarden.store import Store
from iotwarden.store.alert_models import AlertRow, FindingRow
from iotwarden.store.schema import CaptureRow, DeviceRow, EvidenceRow, FlowRow
from iotwarden.store.stream_models import StreamMessageRow
from tests.natsutil import cleanup, nats_link, new_site
from tests.services.test_analyze_prior_owners import ADDRESS_DEVICE, ADDRESS_ONLY, OWNING, ROUTER, ROUTER_IP

__all__ = ["nats_link"]
pytestmark = pytest.mark.nats
DEMO = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "lab" / "captures" / "demo.pcap"
SMALL_MESSAGES = 48 * 1024  # the demo capture then travels in many messages (several checkpoints)


def publish(link: NatsLink, site: str, capture: Path = DEMO) -> int:
    sensor = Sensor(link, site, max_message_bytes=SMALL_MESSAGES)
    [report] = sensor.run_paths([capture])
    assert sensor.close() == 0 and report.status == "complete"
    return report.messages


def state(store: Store) -> dict[str, Any]:
    """What a user sees: inventory (with counters and classification), findings, alerts, evidence, flows."""
    with store.session() as s:
        return {
            "devices": sorted((r.key, r.packets, r.bytes, r.vendor, r.device_type, r.category, tuple(r.ips),
                               tuple(r.protocols)) for r in s.scalars(select(DeviceRow))),
            "findings": sorted((r.device_key, r.check_id, r.severity) for r in s.scalars(select(FindingRow))),
            "alerts": sorted((r.detector_id, r.device_key, r.severity, r.count) for r in s.scalars(select(AlertRow))),
            "evidence": sorted((r.device_key, r.proto, r.kind, r.field, r.value, r.count)
                               for r in s.scalars(select(EvidenceRow))),
            "flows": sorted((r.a_ip, r.a_port, r.b_ip, r.b_port, r.first_seen, r.pkts_ab, r.pkts_ba)
                            for r in s.scalars(select(FlowRow))),
        }


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with Store(f"sqlite:///{tmp_path_factory.mktemp('analyze') / 'a.db'}") as reference:
        analyze([DEMO], reference)
        return state(reference)


def test_a_sensor_run_stored_by_the_worker_equals_analyze(nats_link: NatsLink, store: Store,
                                                          expected: dict[str, Any],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    site = new_site()
    monkeypatch.setattr(worker_mod, "FETCH_BATCH", 4)  # several checkpoints: differences must add up
    monkeypatch.setattr(worker_mod, "COMMIT_EVERY_S", 0.0)
    try:
        messages = publish(nats_link, site)
        assert messages > 4
        worker = Worker(nats_link, store, site=site)
        worker.run(idle_exit_s=1.5)
        assert worker.stats.messages == messages and worker.stats.checkpoints > 1
        assert worker.stats.runs_ended == 1 and worker.stats.malformed == 0 and not worker.runs
        got = state(store)
        assert got["devices"] and got["findings"] and got["alerts"]
        for part, value in expected.items():
            assert got[part] == value, part
        with store.session() as session:  # the sensor run is one capture, totalled over its messages
            [run] = session.scalars(select(CaptureRow).where(CaptureRow.format == "nats")).all()
            assert run.path.startswith(f"nats://{site}/") and run.status == "complete"
            assert run.stats["messages"] == messages and run.flows == len(expected["flows"])
            assert session.scalar(select(func.count()).select_from(StreamMessageRow)) == messages
    finally:
        cleanup(nats_link, site, f"iotwarden-worker-{site}")


def test_a_batch_delivered_again_is_not_stored_twice(nats_link: NatsLink, sqlite_store: Store,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    site = new_site()
    monkeypatch.setattr(worker_mod, "ACK_WAIT_S", 1.0)  # unacknowledged messages come back after 1 s
    try:
        messages = publish(nats_link, site)
        first = Worker(nats_link, sqlite_store, site=site)
        monkeypatch.setattr(first, "_call", lambda coro: coro.close())  # crash after commit: no ack reaches NATS
        for _ in range(20):
            first.step()
            if first.stats.messages == messages:
                break
        assert first.stats.messages == messages and first.stats.runs_ended == 1
        stored = state(sqlite_store)
        second = Worker(nats_link, sqlite_store, site=site)
        second.run(idle_exit_s=3.0)
        assert second.stats.duplicates == messages and second.stats.messages == 0
        assert state(sqlite_store) == stored
        info = nats_link.call(nats_link.jetstream().consumer_info(STREAM, f"iotwarden-worker-{site}"))
        assert info.num_ack_pending == 0 and info.num_pending == 0
    finally:
        cleanup(nats_link, site, f"iotwarden-worker-{site}")


def test_malformed_messages_are_counted_and_terminated(nats_link: NatsLink, sqlite_store: Store) -> None:
    site = new_site()
    js = nats_link.jetstream()
    subject = records_subject(site)
    good_flow = {"vlan": 0, "ip_proto": 6, "a_ip": "10.0.0.1", "a_port": 1, "b_ip": "10.0.0.2", "b_port": 80,
                 "first_seen": 1.0, "last_seen": 2.0, "pkts_ab": 1}
    bad_record = (b'{"schema":"iotwarden.records/1","site":"%s","run":"r1","seq":0,"tick":2.0,"end":true,'
                  b'"observations":[{"ts":"x"}],"flows":[%s,{"a_ip":5}]}') % (site.encode(), str(good_flow)
                                                                           .replace("'", '"').encode())
    try:
        for payload in (b"not json", b'{"schema":"other/9"}', b'{"schema":"iotwarden.records/1","site":"elsewhere",'
                        b'"run":"r","seq":0}', bad_record):
            nats_link.call(js.publish(subject, payload))
        worker = Worker(nats_link, sqlite_store, site=site)
        worker.run(idle_exit_s=1.0)
        assert worker.stats.malformed == 3  # not JSON, another schema, a site publishing as another
        assert worker.stats.malformed_records == 2 and worker.stats.messages == 1
        with sqlite_store.session() as s:
            assert [r.b_port for r in s.scalars(select(FlowRow))] == [80]
        info = nats_link.call(js.consumer_info(STREAM, f"iotwarden-worker-{site}"))
        assert info.num_ack_pending == 0 and info.num_pending == 0  # nothing will come back
    finally:
        cleanup(nats_link, site, f"iotwarden-worker-{site}")


def test_two_sites_stay_apart(nats_link: NatsLink, tmp_path: Path) -> None:
    here, there = new_site(), new_site()
    try:
        publish(nats_link, here)
        with Store(f"sqlite:///{tmp_path / 'there.db'}") as store:
            other = Worker(nats_link, store, site=there)
            other.run(idle_exit_s=1.0)
            assert other.stats.messages == 0 and state(store)["devices"] == []
        with Store(f"sqlite:///{tmp_path / 'here.db'}") as store:
            mine = Worker(nats_link, store, site=here)
            mine.run(idle_exit_s=1.0)
            assert mine.stats.runs_ended == 1 and state(store)["devices"]
    finally:
        cleanup(nats_link, here, f"iotwarden-worker-{here}")
        cleanup(nats_link, there, f"iotwarden-worker-{there}")


def test_a_run_places_an_address_by_the_history_stored_before_it(nats_link: NatsLink, sqlite_store: Store,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # the NKU router answered DHCP/DNS in the camera's capture; the plug's sensor run sees its address
    # only as an unanswered DNS destination: the worker's run reads the history when it starts
    site = new_site()
    monkeypatch.setattr(worker_mod, "COMMIT_EVERY_S", 0.0)
    try:
        analyze([OWNING], sqlite_store)
        publish(nats_link, site, ADDRESS_ONLY)
        Worker(nats_link, sqlite_store, site=site).run(idle_exit_s=1.5)
        with sqlite_store.session() as session:
            keys = set(session.scalars(select(DeviceRow.key)))
            router = session.scalars(select(DeviceRow).where(DeviceRow.key == ROUTER)).one()
        assert ADDRESS_DEVICE not in keys and ROUTER_IP in router.ips
    finally:
        cleanup(nats_link, site, f"iotwarden-worker-{site}")
