"""Devices a message reports (IHE PCD-01 device rows): each record's facts reach the device its MAC names,
now or when that MAC appears; the sender keeps them as the gateway it is; a MAC never seen makes no device."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.dissect.hl7 import parse_message
from iotwarden.inventory import reported as r
from iotwarden.inventory.classifier import Classifier
from iotwarden.inventory.identity import RULES
from iotwarden.lab import proto_app
from iotwarden.model import Device, Flow, Observation
from tests.inventory.test_builder import run

GATEWAY, PUMP, MONITOR = "44:4b:5d:50:00:01", "58:46:e1:50:00:03", "44:4b:5d:50:00:02"
ENGINE = "98:e7:43:10:00:0c"
STAMP = "20240304090005"
HL7 = RULES["hl7"].reports
assert HL7 is not None


def hl7(message: bytes, *, src_mac: str = GATEWAY, src_ip: str = "10.10.50.10", ts: float = 100.0) -> Observation:
    """The observation the hl7 dissector makes of ``message`` sent from ``src_mac``."""
    kind, fields = parse_message(message[1:-2] if message.startswith(b"\x0b") else message)
    return Observation(ts=ts, proto="hl7", kind=kind, src_mac=src_mac, dst_mac=ENGINE, src_ip=src_ip,
                       dst_ip="10.10.10.12", src_port=40000, dst_port=2575, subject="src", fields=fields)


def seen(mac: str, ip: str, ts: float = 50.0) -> Flow:
    """``mac`` talking TLS to the gateway: the network shows it."""
    return Flow(vlan=0, ip_proto=6, a_ip=ip, a_port=40001, b_ip="10.10.50.10", b_port=443, first_seen=ts,
                last_seen=ts + 1, a_mac=mac, b_mac=GATEWAY, pkts_ab=3, pkts_ba=3, bytes_ab=300, bytes_ba=300,
                payload_ab=100, payload_ba=100, app="tls")


def report(*devices: tuple[str, str], sender: str = "CARESCAPE Gateway^444B5DFFFE500001^EUI-64") -> bytes:
    return proto_app.hl7_pcd01(f"{sender}|ICU^HOSP", "Mirth|HOSP", STAMP, "M1", spo2=97, heart_rate=72,
                               pump_rate=40.0, devices=devices)


def device_type(dev: Device) -> str | None:
    found = Classifier().classify(dev).get("device_type")
    return found.value if found is not None else None


def test_a_report_naming_a_seen_mac_describes_that_device_and_makes_the_sender_its_gateway() -> None:
    ctx, inv = run(seen(PUMP, "10.10.50.100"), hl7(report(("infusion_pump", PUMP))))
    pump, gateway = ctx.devices[f"mac:{PUMP}"], ctx.devices[f"mac:{GATEWAY}"]
    assert pump.attributes["hl7.device_term"] == {"MDC_DEV_PUMP_INFUS_MDS", "MDC_DEV_PUMP_INFUS_VMD",
                                                   "MDC_DEV_PUMP_INFUS_CHAN_DELIVERY"}
    assert gateway.attributes["hl7.reported_device"] == pump.attributes["hl7.device_term"]
    assert "hl7.device_term" not in gateway.attributes
    assert pump.last_seen == 51.0  # a report about the pump is not a sighting of it
    assert ("hl7", "message", "device_term", "MDC_DEV_PUMP_INFUS_MDS") in inv.evidence()[f"mac:{PUMP}"]
    assert device_type(pump) == "infusion_pump"
    assert device_type(gateway) == "medical_device"  # the taxonomy's medical gateway


def test_a_mac_that_appears_after_the_report_gets_its_facts_then() -> None:
    ctx, inv = run(hl7(report(("patient_monitor", MONITOR), ("infusion_pump", PUMP))))
    assert set(ctx.devices) == {f"mac:{GATEWAY}"}  # reported, not seen: no device yet
    assert inv.pending.held == 4
    inv.on_flow(ctx, seen(MONITOR, "10.10.50.21", ts=200.0))
    assert ctx.devices[f"mac:{MONITOR}"].attributes["hl7.device_term"] == {"MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS"}
    assert device_type(ctx.devices[f"mac:{MONITOR}"]) == "patient_monitor"
    assert inv.pending.held == 3 and set(inv.pending.by_mac) == {PUMP}


def test_a_mac_never_seen_makes_no_device_and_stays_the_gateways_evidence() -> None:
    ctx, inv = run(hl7(report(("infusion_pump", PUMP))))
    inv.done(ctx)
    assert f"mac:{PUMP}" not in ctx.devices  # the inventory lists what the network shows
    assert inv.pending.unplaced == 3 and inv.pending.held == 0
    gateway = ctx.devices[f"mac:{GATEWAY}"]
    assert "MDC_DEV_PUMP_INFUS_MDS" in gateway.attributes["hl7.reported_device"]
    assert device_type(gateway) == "medical_device"


@pytest.mark.parametrize("sender", [
    "Spectrum^5846E1FFFE500003^EUI-64",  # MSH-3 names the pump (its EUI-64): its own report
    "Spectrum",  # no MSH-3 identifier: the row's MAC is the sender's own MAC
])
def test_a_devices_report_about_itself_describes_the_sender(sender: str) -> None:
    message = report(("infusion_pump", PUMP), sender=sender)
    ctx, _ = run(hl7(message, src_mac=PUMP, src_ip="10.10.50.100"))
    pump = ctx.devices[f"mac:{PUMP}"]
    assert "MDC_DEV_PUMP_INFUS_MDS" in pump.attributes["hl7.device_term"]
    assert "hl7.reported_device" not in pump.attributes  # not a gateway
    assert device_type(pump) == "infusion_pump"


def test_the_senders_own_identifier_without_a_mac() -> None:
    message = (b"MSH|^~\\&|Pump^SN-0042^L|ICU|EMR|HOSP|20240304||ORU^R01^ORU_R01|1|P|2.6\r"
               b"OBX|1||69985^MDC_DEV_PUMP_INFUS_MDS^MDC|1.0.0.0|||||||X|||||||SN-0042^^SN-0042^L\r"
               b"OBX|2||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|2.0.0.0|||||||X|||||||SN-7^^SN-7^L")
    ctx, inv = run(hl7(message))
    sender = ctx.devices[f"mac:{GATEWAY}"]
    assert sender.attributes["hl7.device_term"] == {"MDC_DEV_PUMP_INFUS_MDS"}  # the row naming MSH-3's ID
    # a device named by a serial number only: the sender speaks for it, no device can be placed, nothing held
    assert sender.attributes["hl7.reported_device"] == {"MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS"}
    assert inv.pending.held == 0


def test_an_adt_or_a_plain_oru_concludes_no_device_type() -> None:
    adt = (b"MSH|^~\\&|EPIC|HOSP|MIRTH|HOSP|20240304||ADT^A01^ADT_A01|A1|P|2.5\r"
           b"PID|||12345^^^HOSP^MR||DOE^JANE\rPV1||I|ICU^1^1")
    oru = (b"MSH|^~\\&|LIS|LAB|EMR|HOSP|20240304||ORU^R01^ORU_R01|L1|P|2.5.1\r"
           b"OBR|1||||||20240304\rOBX|1|NM|2345-7^Glucose^LN||95|mg/dL|||||F")
    ctx, _ = run(hl7(adt), hl7(oru, src_mac=ENGINE, src_ip="10.10.10.12"))
    for dev in ctx.devices.values():
        assert not any(a in dev.attributes for a in ("hl7.device_term", "hl7.reported_device"))
        assert device_type(dev) is None


def test_records_are_read_defensively() -> None:
    fields: dict[str, Any] = {"sender_mac": GATEWAY, "sending_application_uid": "X", "devices": [
        "not a record", {"mac": PUMP}, {"term": True, "mac": PUMP}, {"term": "", "mac": PUMP},
        {"term": "MDC_DEV_PUMP_INFUS_MDS", "mac": "ff:ff:ff:ff:ff:ff"},  # broadcast: no device's MAC
        {"term": "MDC_DEV_PUMP_INFUS_MDS", "mac": GATEWAY.upper()},  # the sender's own, in any case
        {"term": "MDC_DEV_PUMP_INFUS_MDS", "equipment_id": "X"},  # MSH-3's identifier
        {"term": "MDC_DEV_PUMP_INFUS_MDS" + "X" * 500, "mac": PUMP},
    ]}
    out = r.reported(HL7, fields, None)
    assert [(x.mac, x.own) for x in out] == [(None, False), (GATEWAY, True), (None, True), (PUMP, False)]
    assert len(out[-1].facts[0][1]) == r.MAX_VALUE_LEN
    assert r.reported(HL7, {"devices": "nope"}, None) == []
    many = {"devices": [{"term": f"MDC_DEV_T{i}", "mac": PUMP} for i in range(r.MAX_RECORDS + 10)]}
    assert len(r.reported(HL7, many, None)) == r.MAX_RECORDS


def test_facts_held_for_unseen_macs_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(r, "MAX_PENDING", 3)
    pending = r.PendingFacts()
    ob = hl7(report())
    for i in range(5):
        pending.hold(f"02:00:00:00:00:{i:02x}", "hl7.device_term", "MDC_DEV_PUMP_INFUS_MDS", ob)
    pending.hold("02:00:00:00:00:00", "hl7.device_term", "MDC_DEV_PUMP_INFUS_MDS", ob)  # known: not counted again
    assert (pending.held, pending.dropped, len(pending.by_mac)) == (3, 2, 3)
    assert pending.take("02:00:00:00:00:00") == [("hl7.device_term", "MDC_DEV_PUMP_INFUS_MDS", ob)]
    assert pending.take("02:00:00:00:00:00") == [] and pending.held == 2
    assert pending.settle() == 2 and pending.unplaced == 2 and not pending.by_mac


# --- overheard facts (IdentityRule.overheard: WSC device information of 802.11 requests) ------------------

STATION = "f4:81:39:00:00:01"
WPS_FIELDS = {"manufacturer": "Canon", "model_name": "TS5300 series", "device_name": "Canon TS5300 series",
              "primary_device_type": "3-0050F204-5"}


def wps(mac: str, frame: str = "probe_request", ts: float = 10.0, **fields: str) -> Observation:
    """The observation dissect/wps.py makes of a request ``mac`` sent (a probe request to broadcast)."""
    return Observation(ts=ts, proto="wps", kind="device_info", src_mac=mac, dst_mac="ff:ff:ff:ff:ff:ff",
                       subject="src", fields={**(fields or WPS_FIELDS), "frame": frame})


def arp(mac: str, ip: str, ts: float = 20.0) -> Observation:
    return Observation(ts=ts, proto="arp", kind="reply", src_mac=mac, dst_mac="ff:ff:ff:ff:ff:ff", subject="src",
                       fields={"sender_mac": mac, "sender_ip": ip})


def test_overheard_facts_of_a_mac_never_on_the_network_make_no_device_and_are_counted() -> None:
    ctx, inv = run(wps(STATION), wps(STATION, "association_request", ts=11.0), wps("da:a1:19:11:22:33"))
    assert ctx.devices == {} and inv.endpoints == {}  # no endpoint either: nothing for a resolver to place
    assert inv.overheard.held == 8 and set(inv.overheard.by_mac) == {STATION, "da:a1:19:11:22:33"}
    inv.done(ctx)
    assert ctx.devices == {} and inv.overheard.unplaced == 8 and not inv.overheard.by_mac
    assert inv.pending.held == 0  # reported facts are kept apart


def test_overheard_facts_join_the_mac_when_it_shows_up_and_at_once_when_it_has() -> None:
    ctx, inv = run(wps(STATION), seen(STATION, "10.10.50.30", ts=50.0))
    dev = ctx.devices[f"mac:{STATION}"]
    assert {k: v for k, v in dev.attributes.items() if k.startswith("wps.")} == {
        f"wps.{k}": {v} for k, v in WPS_FIELDS.items()}
    assert "wps" in dev.protocols and dev.first_seen == 10.0  # heard then
    assert ("wps", "device_info", "manufacturer", "Canon") in inv.evidence()[f"mac:{STATION}"]
    assert inv.overheard.held == 0
    # a MAC already shown (here by ARP): the request is read as any message, no holding
    laptop = "c8:5b:76:00:00:06"
    inv.on_observation(ctx, arp(laptop, "10.10.50.31"))
    inv.on_observation(ctx, wps(laptop, ts=30.0, manufacturer="LENOVO"))
    assert ctx.devices[f"mac:{laptop}"].attributes["wps.manufacturer"] == {"LENOVO"}
    assert inv.overheard.held == 0
    assert device_type(dev) == "mfp"


def test_a_randomised_mac_on_the_network_keeps_its_facts() -> None:
    """A phone's private (locally administered) MAC that joins the network is that device for the run."""
    phone = "9a:6f:22:00:00:05"
    ctx, inv = run(wps(phone, manufacturer="samsung", device_name="Galaxy S21"),
                   wps(phone, "reassociation_request", manufacturer="samsung", device_name="Galaxy S21"),
                   arp(phone, "10.10.50.40"))
    inv.done(ctx)
    assert ctx.devices[f"mac:{phone}"].attributes["wps.device_name"] == {"Galaxy S21"}
    assert inv.overheard.unplaced == 0


def test_overheard_facts_are_bounded_the_least_recently_heard_mac_going_first() -> None:
    pending = r.PendingFacts(limit=3, evict_oldest=True)
    obs = wps(STATION)
    for i in range(3):
        pending.hold(f"02:00:00:00:00:{i:02x}", "wps.manufacturer", "Canon", obs)
    pending.hold("02:00:00:00:00:00", "wps.manufacturer", "Canon", obs)  # heard again: now the most recent
    pending.hold("02:00:00:00:00:09", "wps.manufacturer", "Canon", obs)  # full: 01, heard least recently, goes
    assert list(pending.by_mac) == ["02:00:00:00:00:02", "02:00:00:00:00:00", "02:00:00:00:00:09"]
    assert (pending.held, pending.dropped) == (3, 1)
    for value in ("a", "b", "c", "d"):  # one MAC filling the store alone keeps what it has
        pending.hold("02:00:00:00:00:0a", "wps.device_name", value, obs)
    assert list(pending.by_mac) == ["02:00:00:00:00:0a"] and pending.held == 3 and pending.dropped == 4 + 1


def test_a_crowd_of_passers_by_does_not_keep_a_station_that_joins_later_from_its_facts() -> None:
    ctx, inv = run()
    assert (inv.overheard.limit, inv.overheard.evict_oldest) == (r.MAX_OVERHEARD, True)
    inv.overheard.limit = len(WPS_FIELDS)  # room for one station's facts
    inv.on_observation(ctx, wps(STATION, ts=1.0))
    for i in range(5):
        inv.on_observation(ctx, wps(f"da:a1:19:00:00:{i:02x}", ts=2.0 + i))
    assert STATION not in inv.overheard.by_mac  # heard least recently: evicted
    inv.on_observation(ctx, wps(STATION, "association_request", ts=9.0))  # it joins: heard most recently
    inv.on_flow(ctx, seen(STATION, "10.10.50.30", ts=10.0))
    inv.done(ctx)
    assert set(ctx.devices) == {f"mac:{STATION}", f"mac:{GATEWAY}"}
    assert ctx.devices[f"mac:{STATION}"].attributes["wps.model_name"] == {"TS5300 series"}
    # evicted: the station's first facts, then each passer-by's, the last one's when the station came back
    assert (inv.overheard.dropped, inv.overheard.unplaced) == (6 * len(WPS_FIELDS), 0)
