"""The classifier: evidence weighed into conclusions, every conclusion explained, unknown stays unknown;
acceptance on labelled real captures (labeled_locks_cams, ics_iti) read in place from ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.addons import default_analyzers
from iotwarden.inventory.classifier import MIN_CONFIDENCE, Classifier, DeviceClassifier
from iotwarden.kb.index import KnowledgeBase
from iotwarden.model import Device
from tests.conftest import shared
from tests.risk.harness import run_capture

CLASSIFIER = Classifier()


def device(mac: str | None = None, **attributes: list[str]) -> Device:
    dev = Device(key=f"mac:{mac}" if mac else "ip:10.0.0.9", first_seen=0.0, last_seen=0.0, mac=mac)
    for name, values in attributes.items():
        dev.attributes[name.replace("__", ".")] = set(values)
    return dev


def test_devices_without_a_mac_are_classified_without_reading_the_mac_registry() -> None:
    """A Zeek conn.log shows addresses only: the vendor names come from their own table, the ~50k
    registry rows are read the first time a MAC is asked about, naming vendors with that same table."""
    kb = KnowledgeBase(CLASSIFIER.kb.rules, CLASSIFIER.kb.attributes, CLASSIFIER.kb.taxonomy)
    classifier = Classifier(kb)
    found = classifier.classify(device(dns__qname=["plug.sciener.cn"], tls__sni=["plug.sciener.cn"]))
    assert found and "oui" not in kb.__dict__ and "vendor_names" in kb.__dict__
    assert found == CLASSIFIER.classify(device(dns__qname=["plug.sciener.cn"], tls__sni=["plug.sciener.cn"]))
    classifier.classify(device("00:17:7a:00:00:01"))
    assert "oui" in kb.__dict__ and kb.oui.names is kb.vendor_names


def test_a_device_that_says_nothing_gets_no_vendor_beyond_its_oui_and_no_type() -> None:
    found = CLASSIFIER.classify(device("00:1b:1b:00:00:01"))  # a Siemens MAC block, nothing else
    assert found["vendor"].value == "Siemens"
    assert found["vendor"].evidence[0]["rule_id"] == "mac.oui.registry"
    assert "device_type" not in found and "model" not in found


def test_a_randomised_mac_with_nothing_else_is_entirely_unknown() -> None:
    assert CLASSIFIER.classify(device("02:11:22:33:44:55")) == {}


def test_independent_agreeing_evidence_reinforces_and_every_match_is_kept() -> None:
    dev = device("00:11:32:aa:20:01", mdns__services=["_smb._tcp.local"], dns__qname=["api.allegionengage.com"])
    lock = CLASSIFIER.classify(device("78:db:2f:db:43:48", dns__qname=["api.allegionengage.com"]))
    assert lock["vendor"].value == "Schlage"  # product evidence beats the radio chip's MAC block (TI)
    assert {e["rule_id"] for e in lock["vendor"].evidence} >= {"tls.sni.allegion_engage", "mac.oui.registry"}
    assert [e["agrees"] for e in lock["vendor"].evidence if e["rule_id"] == "mac.oui.registry"] == [False]
    assert lock["category"].value == "iot"  # follows the type door_lock through the taxonomy
    assert CLASSIFIER.classify(dev)["vendor"].confidence >= MIN_CONFIDENCE


def test_a_module_makers_mac_yields_to_any_evidence_naming_the_product() -> None:
    esp = "24:0a:c4:00:00:01"  # an Espressif block: the Wi-Fi module inside someone else's product
    assert CLASSIFIER.classify(device(esp))["vendor"].value == "Espressif"  # nothing else known: the module
    found = CLASSIFIER.classify(device(esp, dns__qname=["a1.tuyaus.com"]))
    assert found["vendor"].value == "Tuya"
    # too weak to name the product (a phone with the app reaches it too), yet enough to unseat the module maker
    weak = CLASSIFIER.classify(device(esp, dns__qname=["frontdoor.nest.com"]))  # nest.com weighs 0.4
    assert "vendor" not in weak


def test_a_mac_block_of_the_brands_owner_supports_the_brand() -> None:
    found = CLASSIFIER.classify(device("68:db:f5:00:00:01", dns__qname=["api.ring.com"]))  # an Amazon block
    assert found["vendor"].value == "Ring"
    assert found["vendor"].confidence > 0.6  # Ring's cloud and the owner's block agree
    assert [e["agrees"] for e in found["vendor"].evidence if e["rule_id"] == "mac.oui.registry"] == [True]


def test_conflicting_vendor_evidence_lowers_confidence_and_never_flips() -> None:
    alone = CLASSIFIER.classify(device(None, dns__qname=["a.sonos.com"], mdns__services=["_sonos._tcp.local"]))
    both = CLASSIFIER.classify(device(None, dns__qname=["a.sonos.com", "avs-alexa-na.amazon.com"],
                                      mdns__services=["_sonos._tcp.local"]))
    assert alone["vendor"].value == both["vendor"].value == "Sonos"
    assert both["vendor"].confidence < alone["vendor"].confidence


def test_a_host_reaching_many_vendors_clouds_is_none_of_them() -> None:
    phone = device("02:11:22:33:44:55", dns__qname=["api.ecobee.com", "a1.tuyaus.com", "plug.sciener.cn"])
    assert "vendor" not in CLASSIFIER.classify(phone)


def test_one_rule_matching_in_dns_and_tls_counts_once() -> None:
    once = CLASSIFIER.classify(device(None, dns__qname=["plug.sciener.cn"]))
    twice = CLASSIFIER.classify(device(None, dns__qname=["plug.sciener.cn"], tls__sni=["plug.sciener.cn"]))
    assert once["vendor"].confidence == twice["vendor"].confidence


def test_weak_evidence_alone_concludes_nothing() -> None:
    found = CLASSIFIER.classify(device(None, dns__qname=["a1.iot.us-west-2.amazonaws.com"]))  # AWS IoT: 0.4
    assert found == {}


def test_a_modbus_server_is_ot() -> None:
    found = CLASSIFIER.classify(device(None, service__server=["modbus"]))
    assert found["category"].value == "ot"
    assert found["category"].evidence[0]["rule_id"] == "service.server.modbus"


def test_a_modbus_client_is_ot_and_a_bacnet_client_building_but_neither_has_a_type() -> None:
    found = CLASSIFIER.classify(device(None, service__client=["modbus"]))
    assert (found["category"].value, found["category"].evidence[0]["rule_id"]) == ("ot", "service.client.modbus")
    assert "device_type" not in found
    assert CLASSIFIER.classify(device(None, service__client=["bacnet"]))["category"].value == "building"
    both = CLASSIFIER.classify(device(None, service__client=["modbus"], service__server=["modbus"]))
    assert both["category"].value == "ot"


def test_evidence_of_what_a_client_did_says_so() -> None:
    """A PLC Stop types its sender an engineering workstation as before, and the evidence keeps the rule's
    ``behaviour`` mark (what the host did, not what it is), which the risk.ot checks read; identity evidence
    has no such key."""
    found = CLASSIFIER.classify(device(None, s7comm__function=["plc_stop"], s7comm__dst_tsap_text=["SIMATIC-ROOT-ES"]))
    assert found["device_type"].value == "engineering_workstation"
    marks = {e["rule_id"]: e.get("behaviour") for e in found["device_type"].evidence}
    assert marks == {"s7.client.engineering_job": "ot_operation", "s7plus.client.engineering": None}


def test_the_threshold_is_validated() -> None:
    with pytest.raises(ValueError, match="min_confidence"):
        Classifier(min_confidence=0.0)


def _inventory(path: Path) -> dict[str, Device]:
    """The devices the default analyzers make of a capture (engine, inventory, classifier)."""
    return run_capture(path, default_analyzers()).devices


def test_the_classifier_runs_as_the_analyzer_after_the_inventory() -> None:
    assert isinstance(default_analyzers()[1], DeviceClassifier)


# labeled_locks_cams devices.csv (name, mac) -> acceptable vendors and types. Sifely and Ultraloq
# sell white-label hardware: the TTLock (Sciener) platform and U-tec are the makers the traffic names.
LOCKS_CAMS = {
    "blink-cam-01": ("f4:b8:5e:ff:2b:1b", {"Blink"}, {"camera"}),
    "blink-cam-02": ("f4:b8:5e:35:67:b0", {"Blink"}, {"camera"}),
    "blink-cam-03": ("f4:b8:5e:cd:fe:2f", {"Blink"}, {"camera"}),
    "schlage-lock-01": ("78:db:2f:db:43:48", {"Schlage"}, {"door_lock"}),
    "sifely-hub-01": ("f4:cf:a2:eb:59:c4", {"Sifely", "Sciener (TTLock)"}, {"door_lock", "smart_hub"}),
    "lockly-hub-01": ("24:6f:28:d9:a7:64", {"Lockly"}, {"door_lock", "smart_hub"}),
    "ultraloq-hub-01": ("a4:cf:12:32:5b:88", {"U-tec", "Ultraloq"}, {"door_lock", "smart_hub"}),
}


@pytest.mark.parametrize("name", sorted(LOCKS_CAMS))
def test_labelled_locks_and_cameras_get_their_vendor_and_type(name: str) -> None:
    path = shared("pcaps", "labeled_locks_cams", "pcaps", f"{name}.pcap")
    mac, vendors, types = LOCKS_CAMS[name]
    devices = _inventory(path)
    dev = devices[f"mac:{mac}"]
    assert dev.vendor in vendors
    assert dev.device_type in types
    assert not [k for k in devices if k.startswith("ip:") and not k.startswith(("ip:10.", "ip:192.168."))]


# ics_iti: (capture, controller MAC) -> vendor, model (None: the traffic does not carry it), type, protocol
ICS = [
    ("s7/tia_s300_goOnline.pcapng", "00:0e:8c:d0:f9:cb", "Siemens", "SIMATIC S7-300", "plc", "s7comm"),
    ("s7/s7comm_reading_plc_status.pcap", "00:1b:1b:23:eb:3b", "Siemens", None, "plc", "s7comm"),
    # in a download the PLC fetches the blocks from the programming station with download_block jobs
    ("s7/s7comm_downloading_block_db1.pcap", "00:1b:1b:23:eb:3b", "Siemens", None, "plc", "s7comm"),
    ("s7/tia_s300_downloadOb1.pcapng", "00:0e:8c:d0:f9:cb", "Siemens", None, "plc", "s7comm"),
    ("EthernetIP/enip_test.pcap", "00:19:07:24:3c:ca", "Rockwell Automation", "1756-ENBT/A", "ot_gateway", "enip"),
    # an MMS server on ISO-TSAP naming its maker and model in MMS Identify, never Siemens: an ICCP (TASE.2) node of
    # a control centre (rules/ot_models.yaml mms.model.areva_e_terra), not an IED
    ("IEC61850/8d7c7db0-9804-012b-b2a6-0016cb8cea27.pcap", "00:10:18:0a:b1:92", "Areva T&D", "e-terracomm",
     "scada_server", "mms"),
]


@pytest.mark.parametrize("case", ICS, ids=[f"{c[0]}-{c[1]}" for c in ICS])
def test_ot_controllers_are_category_ot_with_their_protocol(case: tuple[str, str, str, str | None, str, str]) -> None:
    capture, mac, vendor, model, dtype, proto = case
    dev = _inventory(shared("pcaps", "ics_iti", "pcaps", *capture.split("/")))[f"mac:{mac}"]
    assert dev.category == "ot"
    assert proto in dev.protocols
    assert dev.vendor == vendor
    assert dev.device_type == dtype
    if model is not None:
        assert dev.conclusion("model") == model


def test_a_port_102_handshake_without_data_is_no_siemens_controller() -> None:
    # the IEC 61850 sample's client opens ISO-TSAP connections to hosts that never send a TSDU back
    devices = _inventory(shared("pcaps", "ics_iti", "pcaps", "IEC61850", "Sample_File_MMS_and_GOOSE.pcap"))
    servers = {k: d.attributes.get("service.server", set()) for k, d in devices.items()}
    assert not [k for k, apps in servers.items() if "s7comm" in apps]
    assert {devices[k].device_type for k, apps in servers.items() if "mms" in apps} == {"ied"}
    assert "Siemens" not in {d.vendor for d in devices.values()}


def test_the_hmi_polling_a_plc_is_ot_too() -> None:
    """WinCC reading alarms from an S7-300 (ics_iti): the HMI is a client of S7, category OT, its type unknown
    (nothing in its traffic says HMI rather than SCADA server or engineering station); the PLC stays a PLC."""
    devices = _inventory(shared("pcaps", "ics_iti", "pcaps", "s7", "wincc_s300_setup-alarm-read.pcapng"))
    hmi, plc = devices["mac:00:ff:e6:0f:40:8d"], devices["mac:00:ff:e7:0f:40:8d"]
    assert hmi.attributes["service.client"] == {"s7comm"}
    assert (hmi.category, hmi.device_type) == ("ot", None)
    assert hmi.classification["category"].evidence[0]["rule_id"] == "service.client.s7comm"
    assert (plc.category, plc.device_type, plc.vendor) == ("ot", "plc", "Siemens")
