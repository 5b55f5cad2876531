"""The IEEE registry's one spelling of a vendor its registrants spell in several cases ('3COM' and '3Com Ltd' ->
'3Com') names the vendor whatever the process did before: it comes with the vendor table
(generated/vendor_spellings.json, kb/oui.py VendorNames.load), not with reading the registry.

Before, the table gained the spellings only when the ~50k-row registry was first read (the first device with a MAC
address), so a device seen without a MAC (through a router, in a Zeek-only run, reclassified by the store) stating
'3COM' was named '3COM' by a process that had not read the registry and '3Com' by one that had.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from iotwarden.cli.main import main
from iotwarden.inventory.classifier import Classifier
from iotwarden.kb import oui, paths
from iotwarden.kb.index import KnowledgeBase
from iotwarden.model import Device
from iotwarden.store import Store
from iotwarden.store.schema import DeviceRow
from iotwarden.store.writer import merge_devices
from tests.sources.zeeklog import CONN_COLUMNS, ID_COLUMNS, conn_row, write_log

T0 = 1_700_000_000.0
BMS, AHU = "10.40.0.10", "10.40.0.77"  # a building controller and an air handler, seen without their MACs
DISCOVERY_COLUMNS = [*ID_COLUMNS, ("is_orig", "bool"), ("pdu_service", "string"), ("object_type", "string"),
                     ("instance_number", "count"), ("vendor", "string"), ("range", "string"),
                     ("object_name", "string")]  # ICSNPP's bacnet_discovery.log


@pytest.fixture
def fresh_kb(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The knowledge base as a new process loads it: the registry not read (KnowledgeBase.oui, read on first use)."""
    monkeypatch.setattr(KnowledgeBase, "_cached", None)
    yield


def _registry_read() -> bool:
    kb = KnowledgeBase._cached
    return kb is not None and "oui" in vars(kb)


def test_the_spellings_come_with_the_vendor_table_before_the_registry_is_read(fresh_kb: None) -> None:
    kb = KnowledgeBase.load()
    assert kb.vendor_names.canonical("3COM") == "3Com"
    assert not _registry_read()
    assert kb.oui.lookup("00:50:04") is not None  # a 3Com block registered '3COM': the registry now read...
    assert kb.vendor_names.canonical("3COM") == "3Com"  # ...names the vendor as before it was


def test_the_shipped_spellings_file_is_fresh() -> None:
    assert oui.spellings_problem() is None
    assert oui.read_spellings() == json.loads(paths.GENERATED_SPELLINGS.read_text(encoding="utf-8"))["spellings"]


def test_an_unreadable_spellings_file_gives_no_spelling(tmp_path: Path) -> None:
    for bad in ("", "[1]", "{}", '{"format": 0, "spellings": {"3com": "3Com"}}', '{"format": 1, "spellings": [1]}',
                '{"format": 1, "spellings": {"3com": 3}}'):
        (tmp_path / "bad.json").write_text(bad)
        assert oui.read_spellings(tmp_path / "bad.json") == {}
    assert oui.read_spellings(tmp_path / "missing.json") == {}


def test_a_table_of_one_s_own_or_one_asked_without_them_has_no_registry_spelling(tmp_path: Path) -> None:
    table = tmp_path / "aliases.yaml"
    table.write_text("aliases: []\n")
    assert oui.VendorNames.load(table).canonical("3COM") == "3COM"
    assert oui.VendorNames.load(registry=False).canonical("3COM") == "3COM"


def _zeek_site(folder: Path) -> Path:
    """A Zeek-only site: conn.log without MAC columns set, and an air handler's BACnet I-Am stating its maker."""
    write_log(folder, "conn", CONN_COLUMNS, [
        conn_row(T0, "Cbac", (BMS, 47808, "-"), (AHU, 47808, "-"), proto="udp", service="bacnet")], "tsv")
    write_log(folder, "bacnet_discovery", DISCOVERY_COLUMNS, [
        [f"{T0 + 1:.6f}", "Cbac", BMS, "47808", AHU, "47808", "F", "i-am", "device", "1077", "3COM", "-", "-"]], "tsv")
    return folder


def test_a_zeek_only_run_and_devices_explain_name_the_vendor_the_registry_s_way(
        fresh_kb: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'z.db'}"
    assert main(["analyze", str(_zeek_site(tmp_path / "zeek")), "--db", db, "-f", "json"]) == 0
    assert not _registry_read()  # no device showed a MAC
    capsys.readouterr()
    assert main(["devices", "explain", f"ip:{AHU}", "--db", db, "-f", "json"]) == 0
    found = json.loads(capsys.readouterr().out)["device"]
    assert found["conclusions"]["vendor"]["value"] == "3Com"
    with Store(db) as store, store.session() as session:
        assert session.query(DeviceRow.vendor).filter_by(key=f"ip:{AHU}").scalar() == "3Com"


def test_the_store_reclassifying_a_device_without_a_mac_names_the_vendor_the_registry_s_way(
        fresh_kb: None, tmp_path: Path) -> None:
    """merge_devices(reclassify=...): a stored device whose earlier run stated its maker, seen again without it."""
    key = f"ip:{AHU}"
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        with store.transaction() as session:  # an earlier run's device, stored unclassified
            merge_devices(session, [Device(key=key, first_seen=T0, last_seen=T0,
                                           attributes={"http.upnp_manufacturer": {"3COM"}})])
        with store.transaction() as session:  # this run saw only its web server: the store knows more
            merge_devices(session, [Device(key=key, first_seen=T0 + 60, last_seen=T0 + 60,
                                           attributes={"http.server": {"lighttpd/1.4.35"}})],
                          reclassify=Classifier().classify)
        assert not _registry_read()
        with store.session() as session:
            assert session.query(DeviceRow.vendor).filter_by(key=key).scalar() == "3Com"
