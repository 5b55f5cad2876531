"""Merging one stored device into another: every table that names a device by its key moves to the
survivor or merges with its rows, nothing stored is lost, the merged key stays a name of the survivor,
and merging again changes nothing; on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import String, func, select

import iotwarden.store
from iotwarden.errors import StoreError
from iotwarden.model.device import Conclusion
from iotwarden.store import Store
from iotwarden.store import merge as m
from iotwarden.store.alert_models import AlertRow, ApprovalRow, FindingRow
from iotwarden.store.firmware_ota_models import (
    CampaignRow,
    CampaignTargetRow,
    CheckinRow,
    ManagedDeviceRow,
    ReleaseRow,
)
from iotwarden.store.identity_models import EnrolmentTokenRow, IssuedCertRow
from iotwarden.store.inventory_models import DeviceAliasRow, SnapshotRow
from iotwarden.store.queries import resolve_device
from iotwarden.store.respond_models import ActionRow, CaseEntryRow, CaseRow, DeviceTagRow
from iotwarden.store.schema import KEY_LEN, Base, CaptureRow, DeviceIpRow, DeviceRow, EvidenceRow

A, B, C = "ip:10.0.2.10", "mac:00:40:8c:12:34:56", "mac:3c:2a:f4:00:00:01"
T = 1_700_000_000.0


def _import_all_models() -> None:
    for info in pkgutil.iter_modules(iotwarden.store.__path__):
        if info.name.endswith("_models"):
            importlib.import_module(f"iotwarden.store.{info.name}")


def _looks_like_device_key(table: str, column: Any) -> bool:
    """A text column named after devices, as wide as a device key, or referring to devices.key."""
    if any(fk.column.table.name == "devices" for fk in column.foreign_keys):
        return True
    return isinstance(column.type, String) and ("device" in column.name or column.type.length == KEY_LEN)


def test_every_column_that_may_hold_a_device_key_is_moved_by_a_merge_or_named_no_key() -> None:
    _import_all_models()
    found = {(t.name, c.name) for t in Base.metadata.tables.values() for c in t.columns
             if _looks_like_device_key(t.name, c)}
    handled = set(m.MOVERS) | {m.FOLDED} | set(m.NOT_DEVICE_KEYS)
    assert found - handled == set(), "a new device key column: give it a mover in store/merge.py MOVERS"
    assert handled - found <= set(m.NOT_DEVICE_KEYS), "a mover for a column that no longer exists"


def _device(key: str, **kw: Any) -> DeviceRow:
    row: dict[str, Any] = {"key": key, "mac": None, "first_seen": T, "last_seen": T + 60, "ips": [], "hostnames": [],
                           "attributes": {}, "protocols": [], "packets": 1, "bytes": 100, "classification": {}}
    row.update(kw)
    return DeviceRow(**row)


def _seed(store: Store) -> None:
    """A (an address-only device) and B (its MAC's device), with a row of A in every table, some of
    which B holds too."""
    with store.transaction() as s:
        s.add_all([
            _device(A, ips=["10.0.2.10"], attributes={"dns.query": ["a.example"]}, protocols=["dns"],
                    first_seen=T - 600, last_seen=T + 30, packets=4, bytes=400),
            _device(B, mac="00:40:8c:12:34:56", ips=["10.0.2.10"], hostnames=["cam"],
                    attributes={"dns.query": ["b.example"], "dhcp.hostname": ["cam"]}, protocols=["dhcp"],
                    packets=10, bytes=1000, vendor="Axis", vendor_confidence=0.9,
                    classification={"vendor": {"value": "Axis", "confidence": 0.9, "evidence": []}}),
        ])
        s.flush()
        capture = CaptureRow(path="x.pcap", sha256=None, size=0, format="capture", started=T, finished=T,
                             status="complete", packets=0, flows=0, observations=0, devices=2, error=None, stats={})
        other = CaptureRow(path="y.pcap", sha256=None, size=0, format="capture", started=T, finished=T,
                           status="complete", packets=0, flows=0, observations=0, devices=1, error=None, stats={})
        release = ReleaseRow(vendor="Axis", model="M3045", version="10.12", sequence=1, sha256="0" * 64, size=1,
                             uri="https://example.com/fw", envelope=b"", added=T)
        s.add_all([capture, other, release])
        s.flush()
        campaign = CampaignRow(name="c1", release_id=release.id, model="M3045", from_version=None, zone=None,
                               stages=[100], stage=0, max_failure_rate=0.1, min_reports=0.5, state="running",
                               reason="", created=T, updated=T)
        case = CaseRow(title="odd DNS", severity="high", status="open", phase="detection", device_key=A,
                       opened_at=T, opened_by="alice", updated_at=T, closed_at=None)
        s.add_all([campaign, case])
        s.flush()
        s.add_all([
            DeviceIpRow(device_key=A, ip="10.0.2.10", first_seen=T - 600, last_seen=T + 30),
            DeviceIpRow(device_key=B, ip="10.0.2.10", first_seen=T, last_seen=T + 60),
            DeviceIpRow(device_key=A, ip="10.0.2.11", first_seen=T, last_seen=T),
            EvidenceRow(device_key=A, proto="dns", kind="query", field="name", value="a.example",
                        first_seen=T, last_seen=T, count=3),
            EvidenceRow(device_key=A, proto="dhcp", kind="request", field="hostname", value="cam",
                        first_seen=T - 900, last_seen=T, count=2),
            EvidenceRow(device_key=B, proto="dhcp", kind="request", field="hostname", value="cam",
                        first_seen=T, last_seen=T + 60, count=5),
            SnapshotRow(capture_id=capture.id, device_key=A, facts={"vendor": None, "ips": ["10.0.2.10"],
                                                                    "hostnames": []}),
            SnapshotRow(capture_id=capture.id, device_key=B, facts={"vendor": "Axis", "ips": ["10.0.2.10"],
                                                                    "hostnames": ["cam"]}),
            SnapshotRow(capture_id=other.id, device_key=A, facts={"vendor": None, "ips": ["10.0.2.10"],
                                                                  "hostnames": []}),
            FindingRow(check_id="risk.cleartext.telnet", title="Telnet", severity="high", device_key=A,
                       evidence={"port": 23}, remediation="", references=[], status="open",
                       first_seen=T - 600, last_seen=T + 120),
            FindingRow(check_id="risk.cleartext.telnet", title="Telnet", severity="medium", device_key=B,
                       evidence={"port": 2323}, remediation="", references=[], status="accepted",
                       first_seen=T, last_seen=T + 60),
            FindingRow(check_id="risk.dns.odd", title="Odd DNS", severity="low", device_key=A,
                       evidence={}, remediation="", references=[], status="accepted", first_seen=T, last_seen=T),
            AlertRow(detector_id="detect.c2.beaconing", title="Beacon", severity="high", device_key=A,
                     evidence={"uid": "u1"}, status="new", suppressed=False, created=T, updated=T, count=2),
            ApprovalRow(device_key=A, approved_by="alice", approved_at=T, note="the lobby camera"),
            ApprovalRow(device_key=B, approved_by="bob", approved_at=T, note=""),
            ManagedDeviceRow(device_key=A, model="M3045", version="10.12", zone=None, sequence=1, sha256=None,
                             last_checkin=T + 100),
            ManagedDeviceRow(device_key=B, model="M3045", version="10.11", zone=None, sequence=0, sha256=None,
                             last_checkin=T),
            CampaignTargetRow(campaign_id=campaign.id, device_key=A, stage=0, previous_release_id=None,
                              status="installed", reported_sha256=None, detail="", updated=T + 5),
            CheckinRow(campaign_id=campaign.id, device_key=A, ts=T, event="installed", version="10.12",
                       reported_sha256=None, golden=None, detail=""),
            ActionRow(ts=T, actor="playbook:x", kind="tag", playbook="x", alert_uid="u1", device_key=A, case_id=None,
                      params={}, status="done", result={}, reversible=False, undone_at=None, undone_by=None,
                      undo_of=None),
            CaseEntryRow(case_id=case.id, ts=T, phase="detection", kind="device", ref=A, text="affected device",
                         author="alice"),
            CaseEntryRow(case_id=case.id, ts=T, phase="detection", kind="alert", ref="u1", text="linked",
                         author="alice"),
            DeviceTagRow(device_key=A, tag="compromised", added_at=T, added_by="alice"),
            DeviceTagRow(device_key=B, tag="compromised", added_at=T + 10, added_by="bob"),
            DeviceTagRow(device_key=A, tag="lobby", added_at=T, added_by="alice"),
            IssuedCertRow(serial="ab", subject="CN=cam", device_id="cam-1", device_key=A, profile="device",
                          not_before=T, not_after=T + 1e7, sha256="1" * 64, pem="-", issued_at=T, method="est",
                          status="valid", revoked_at=None, reason=None),
            EnrolmentTokenRow(token_hash="2" * 64, device_id="cam-1", device_key=A, profile="device", created_at=T,
                              expires_at=T + 60, used_at=None, extra={}),
            DeviceAliasRow(alias_key="ip:10.0.2.99", device_key=A, merged_at=T, reason="manual", moved={}),
        ])


def _classify(device: Any) -> dict[str, Conclusion]:
    """A stand-in classifier: names what it was given, so the test sees it drew on both records."""
    queries = ",".join(sorted(device.attributes.get("dns.query", ())))
    return {"vendor": Conclusion(value=f"seen:{queries}", confidence=0.5)}


def _naming(store: Store, key: str) -> dict[str, int]:
    """Rows per device-key column that name ``key``."""
    _import_all_models()
    out: dict[str, int] = {}
    with store.session() as s:
        for table, column in [*m.MOVERS, m.FOLDED]:
            col = Base.metadata.tables[table].c[column]
            n = int(s.scalar(select(func.count()).select_from(col.table).where(col == key)) or 0)
            if n:
                out[f"{table}.{column}"] = n
    return out


def _merge(store: Store, alias: str, into: str, **kw: Any) -> m.MergeResult:
    with store.transaction() as s:
        return m.merge_device(s, alias, into, now=T + 1000, **kw)


def test_every_reference_of_the_merged_device_moves_to_the_survivor(store: Store) -> None:
    _seed(store)
    done = _merge(store, A, B, reclassify=_classify)
    assert _naming(store, A) == {}  # nothing names A any more
    assert done.moved == {"device_ips": 2, "evidence": 2, "inventory_snapshots": 2, "findings": 2, "alerts": 1,
                          "approved_devices": 1, "fw_managed_devices": 1, "fw_campaign_targets": 1, "fw_checkins": 1,
                          "response_actions": 1, "cases": 1, "case_entries": 1, "device_tags": 2,
                          "identity_certificates": 1, "identity_tokens": 1, "device_aliases": 1, "devices": 1}
    with store.session() as s:
        entries = {(e.kind, e.ref) for e in s.scalars(select(CaseEntryRow))}
        assert entries == {("device", B), ("alert", "u1")}  # an alert's ref is its uid: left as written
        aliases = {r.alias_key: r.device_key for r in s.scalars(select(DeviceAliasRow))}
        assert aliases == {A: B, "ip:10.0.2.99": B}  # what was merged into A now names B


def test_the_survivor_holds_both_records_with_nothing_lost(store: Store) -> None:
    _seed(store)
    _merge(store, A, B, reclassify=_classify)
    with store.session() as s:
        row = s.scalars(select(DeviceRow).where(DeviceRow.key == B)).one()
        assert (row.first_seen, row.last_seen) == (T - 600, T + 60)
        assert row.attributes == {"dhcp.hostname": ["cam"], "dns.query": ["a.example", "b.example"]}
        assert (row.protocols, row.packets, row.bytes, row.mac) == (["dhcp", "dns"], 14, 1400, "00:40:8c:12:34:56")
        assert row.vendor == "seen:a.example,b.example"  # classified again over both
        ips = {(r.ip, r.first_seen, r.last_seen) for r in s.scalars(select(DeviceIpRow))}
        assert ips == {("10.0.2.10", T - 600, T + 60), ("10.0.2.11", T, T)}
        facts = {(e.proto, e.value): (e.count, e.first_seen, e.last_seen) for e in s.scalars(select(EvidenceRow))}
        assert facts == {("dns", "a.example"): (3, T, T), ("dhcp", "cam"): (7, T - 900, T + 60)}
        findings = {f.check_id: f for f in s.scalars(select(FindingRow))}
        telnet = findings["risk.cleartext.telnet"]
        assert (telnet.severity, telnet.first_seen, telnet.last_seen) == ("high", T - 600, T + 120)
        assert telnet.evidence == {"port": 23} and telnet.status == "accepted"  # newest evidence, person's status
        assert findings["risk.dns.odd"].status == "accepted"  # moved as it was
        snaps = sorted((r.capture_id, r.facts["vendor"]) for r in s.scalars(select(SnapshotRow)))
        assert [v for _, v in snaps] == ["Axis", None] and len(snaps) == 2  # one per run, B's conclusion kept
        approval = s.get(ApprovalRow, B)
        assert approval is not None and approval.approved_by == "bob"
        assert approval.note == f"also approved as {A} by alice: the lobby camera"
        managed = s.get(ManagedDeviceRow, B)
        assert managed is not None and managed.version == "10.12"  # the later check-in's state
        tags = {(t.tag, t.added_by) for t in s.scalars(select(DeviceTagRow))}
        assert tags == {("compromised", "alice"), ("lobby", "alice")}  # as first added


def test_the_merged_key_finds_the_survivor(store: Store) -> None:
    _seed(store)
    _merge(store, A, B)
    with store.session() as s:
        assert resolve_device(s, A).key == B
        assert resolve_device(s, A.upper()).key == B
        record = m.alias_of(s, A)
        assert record is not None and (record.device_key, record.reason, record.merged_at) == (B, "manual", T + 1000)
        assert [a.alias_key for a in m.aliases_of(s, B)] == ["ip:10.0.2.99", A]


def _dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    _import_all_models()
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.session() as s:
        for name, table in sorted(Base.metadata.tables.items()):
            out[name] = sorted(tuple(repr(v) for v in r) for r in s.execute(select(table)))
    return out


def test_merging_again_changes_nothing(store: Store) -> None:
    _seed(store)
    _merge(store, A, B, reclassify=_classify)
    before = _dump(store)
    again = _merge(store, A, B, reclassify=_classify)
    assert again.already and again.into == B and again.moved["devices"] == 1
    assert _dump(store) == before


def test_without_a_classifier_the_survivors_conclusions_stay(store: Store) -> None:
    _seed(store)
    _merge(store, A, B)
    with store.session() as s:
        assert s.scalars(select(DeviceRow.vendor).where(DeviceRow.key == B)).one() == "Axis"


def test_a_survivor_with_no_conclusions_takes_the_merged_ones(store: Store) -> None:
    _seed(store)
    with store.transaction() as s:
        s.add(_device(C))
    _merge(store, B, C)
    with store.session() as s:
        assert s.scalars(select(DeviceRow.vendor).where(DeviceRow.key == C)).one() == "Axis"


def test_a_later_merge_of_the_survivor_carries_its_aliases_along(store: Store) -> None:
    _seed(store)
    with store.transaction() as s:
        s.add(_device(C))
    _merge(store, A, B)
    _merge(store, B, C)
    with store.session() as s:
        assert resolve_device(s, A).key == C and resolve_device(s, B).key == C
        assert {a.alias_key for a in m.aliases_of(s, C)} == {A, B, "ip:10.0.2.99"}


@pytest.mark.parametrize(("alias", "into", "says"), [
    (A, A, "into itself"),
    ("ip:10.9.9.9", B, "no stored device 'ip:10.9.9.9'"),
    (A, "mac:00:00:00:00:00:01", "no stored device 'mac:00:00:00:00:00:01'"),
])
def test_a_merge_that_cannot_be_is_refused_and_changes_nothing(store: Store, alias: str, into: str, says: str) -> None:
    _seed(store)
    before = _dump(store)
    with pytest.raises(StoreError, match=says):
        _merge(store, alias, into)
    assert _dump(store) == before


def test_a_key_merged_elsewhere_says_where_it_went(store: Store) -> None:
    _seed(store)
    with store.transaction() as s:
        s.add(_device(C))
    _merge(store, A, B)
    with pytest.raises(StoreError, match=f"merged into '{B}'"):
        _merge(store, A, C)
    with pytest.raises(StoreError, match=f"merged into '{B}'"):
        _merge(store, C, A)


def test_a_merge_that_fails_midway_leaves_the_store_as_it_was(store: Store) -> None:
    _seed(store)
    before = _dump(store)

    def broken(_device: Any) -> dict[str, Conclusion]:
        raise RuntimeError("classifier crashed")
    with pytest.raises(RuntimeError):
        _merge(store, A, B, reclassify=broken)  # after every table moved, before the commit
    assert _dump(store) == before


def test_analyze_does_not_declare_the_tables_only_a_merge_touches() -> None:
    """The firmware OTA and response row classes are imported by a merge that needs them (store/merge.py
    _model), not by analyze's modules: their declarations are start-up time a run that merges nothing
    would pay. The movers above reach every one of them."""
    code = ("import sys, iotwarden.cli.analyze, iotwarden.services.analyze; "
            "print(sorted(m for m in sys.modules if m.startswith('iotwarden.store.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "iotwarden.store.merge" in loaded  # the address fold's merge is imported
    assert "iotwarden.store.firmware_ota_models" not in loaded
    assert "iotwarden.store.respond_models" not in loaded


def test_a_merge_keeps_the_survivor_within_the_per_device_storage_limits(store: Store) -> None:
    """A merge unites two records but the result is bounded as a run's writes are: B's own facts first, then
    A's most often seen, the rest dropped and counted."""
    from iotwarden.store import writer

    limit = writer.MAX_EVIDENCE_PER_DEVICE
    values = writer.MAX_STORED_VALUES_PER_ATTRIBUTE
    with store.transaction() as s:
        for key, base in ((A, 0), (B, 1000)):
            s.add(DeviceRow(key=key, mac=None, ips=[f"10.1.{base // 1000}.{i}" for i in range(200)],
                            hostnames=[f"h{base + i}" for i in range(50)], protocols=["dns"],
                            attributes={"dns.query": [f"q{base + i}.example" for i in range(values)]},
                            first_seen=T, last_seen=T, packets=1, bytes=1))
            s.add_all(EvidenceRow(device_key=key, proto="dns", kind="query", field="name",
                                  value=f"q{base + i}.example", first_seen=T, last_seen=T, count=1 + i)
                      for i in range(limit - 100))
    done = _merge(store, A, B)
    assert done.dropped == {"evidence": limit - 100 - 100}  # B had room for 100 of A's facts
    assert done.to_dict()["dropped"] == done.dropped
    with store.session() as s:
        row = s.scalars(select(DeviceRow).where(DeviceRow.key == B)).one()
        assert len(row.ips) == writer.MAX_STORED_IPS and {f"10.1.1.{i}" for i in range(200)} <= set(row.ips)
        assert len(row.hostnames) == writer.MAX_STORED_HOSTNAMES and {f"h{1000 + i}" for i in range(50)} <= set(
            row.hostnames)
        assert row.attributes["dns.query"] == sorted(f"q{1000 + i}.example" for i in range(values))  # B's, full
        kept = {e.value: e.count for e in s.scalars(select(EvidenceRow).where(EvidenceRow.device_key == B))}
        assert len(kept) == limit
        of_a = {v: n for v, n in kept.items() if int(v[1:].split(".")[0]) < 1000}
        assert len(of_a) == 100 and min(of_a.values()) == limit - 100 - 99  # A's most often seen
        assert int(s.scalar(select(func.count()).select_from(EvidenceRow)) or 0) == limit  # nothing left on A


def test_a_merge_reads_the_writer_s_limits_where_they_are_defined(store: Store,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-device limits have one definition, the writer's: a limit set there bounds a merge as it bounds a
    run's writes (merge.py copied them by value once, so a changed limit never reached it)."""
    from iotwarden.store import writer

    monkeypatch.setattr(writer, "MAX_EVIDENCE_PER_DEVICE", 5)
    monkeypatch.setattr(writer, "MAX_STORED_IPS", 3)
    monkeypatch.setattr(writer, "MAX_STORED_HOSTNAMES", 2)
    monkeypatch.setattr(writer, "MAX_STORED_VALUES_PER_ATTRIBUTE", 4)
    with store.transaction() as s:
        for key, base in ((A, 0), (B, 10)):
            s.add(DeviceRow(key=key, mac=None, ips=[f"10.1.0.{base + i}" for i in range(2)],
                            hostnames=[f"h{base + i}" for i in range(2)], protocols=["dns"],
                            attributes={"dns.query": [f"q{base + i}.example" for i in range(3)]},
                            first_seen=T, last_seen=T, packets=1, bytes=1))
            s.add_all(EvidenceRow(device_key=key, proto="dns", kind="query", field="name",
                                  value=f"q{base + i}.example", first_seen=T, last_seen=T, count=1 + i)
                      for i in range(3))
    done = _merge(store, A, B)
    assert done.dropped == {"evidence": 1}  # B's 3 facts, then A's two most often seen
    with store.session() as s:
        row = s.scalars(select(DeviceRow).where(DeviceRow.key == B)).one()
        assert row.ips == ["10.1.0.0", "10.1.0.10", "10.1.0.11"]  # B's first, then A's up to the limit
        assert row.hostnames == ["h10", "h11"] and len(row.attributes["dns.query"]) == 4
        kept = {e.value for e in s.scalars(select(EvidenceRow).where(EvidenceRow.device_key == B))}
        assert kept == {"q10.example", "q11.example", "q12.example", "q2.example", "q1.example"}
    assert not hasattr(m, "MAX_EVIDENCE_PER_DEVICE")  # no second definition to drift
