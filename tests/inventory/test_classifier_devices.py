"""The classifier on kinds of devices that are not in ../shared/data: each device is described by the
evidence its own documentation (or its protocol's specification) says it sends, never by a capture the
rules were written from, and must get its vendor and type; evidence that names no product must leave
them unknown."""

from __future__ import annotations

import pytest

from iotwarden.inventory.classifier import Classifier
from iotwarden.model import Device

CLASSIFIER = Classifier()


def device(mac: str | None, **attributes: list[str]) -> Device:
    dev = Device(key=f"mac:{mac}" if mac else "ip:10.0.0.9", first_seen=0.0, last_seen=0.0, mac=mac)
    for name, values in attributes.items():
        dev.attributes[name.replace("__", ".")] = set(values)
    return dev


# (name, MAC, attributes, vendor, device type); MAC blocks are the vendors' IEEE assignments
DEVICES = [
    ("WeMo switch (UPnP type, WeMo cloud)", "ec:1a:59:00:00:01",
     {"ssdp__nt": ["urn:Belkin:device:controllee:1"], "dns__qname": ["api.xbcs.net"]}, "Belkin", "smart_plug"),
    ("WeMo motion sensor", "ec:1a:59:00:00:02",
     {"ssdp__usn": ["uuid:Sensor-1_0-221::urn:Belkin:device:sensor:1"]}, "Belkin", "sensor"),
    ("LIFX bulb on its own block", "d0:73:d5:00:00:01", {"dns__qname": ["v2.broker.lifx.co"]}, "LIFX", "smart_bulb"),
    ("Dropcam", "30:8c:fb:00:00:01", {"tls__sni": ["nexus.dropcam.com"]}, "Dropcam", "camera"),
    ("Chromecast on an AzureWave module", "6c:ad:f8:00:00:01",
     {"mdns__services": ["_googlecast._tcp.local"],
      "http__user_agent": ["Mozilla/5.0 (X11; Linux armv7l) CrKey/1.56.500000"]},
     "Google", "streaming_stick"),
    ("Cisco IP phone", "00:1b:54:00:00:01",
     {"dhcp__vendor_class": ["Cisco Systems, Inc. IP Phone CP-8845"], "dhcp__hostname": ["SEP001B54000001"]},
     "Cisco", "voip_phone"),
    ("Yealink phone provisioning", "80:5e:c0:00:00:01",
     {"http__user_agent": ["Yealink SIP-T46S 66.86.0.15 80:5e:c0:00:00:01"]}, "Yealink", "voip_phone"),
    ("Epson printer naming itself over mDNS", "64:eb:8c:00:00:01",
     {"mdns__services": ["_ipp._tcp.local"], "mdns__txt": ["ty=EPSON ET-2750 Series", "usb_MFG=EPSON"]},
     "Epson", "printer"),
    ("HP printer on a Foxconn-built board (IEEE 1284 spelling)", "9c:30:5b:00:00:01",
     {"mdns__txt": ["usb_MFG=Hewlett-Packard", "ty=HP LaserJet Pro M404dn"]}, "HP", "printer"),
    ("Apple TV", None, {"mdns__services": ["_airplay._tcp.local", "_mediaremotetv._tcp.local"],
                        "mdns__txt": ["model=AppleTV11,1"]}, "Apple", "media_player"),
    ("LG webOS TV", None, {"ssdp__server": ["WebOS/4.1.0 UPnP/1.0 webOSTV/1.0"], "dhcp__hostname": ["LGwebOSTV"]},
     "LG", "smart_tv"),
    ("Aruba AP", "00:0b:86:00:00:01", {"dhcp__vendor_class": ["ArubaInstantAP"]}, "Aruba", "access_point"),
    ("Nest camera on a Google block", "f4:f5:d8:00:00:01",
     {"dns__qname": ["frontdoor.nest.com"], "mdns__services": ["_psia._tcp.local"]}, "Google Nest", "camera"),
    ("Synology NAS by SNMP", "00:11:32:00:00:01", {"snmp__sys_object_id": ["1.3.6.1.4.1.6574.1"]}, "Synology", "nas"),
    ("Lutron Caseta bridge", None, {"mdns__services": ["_leap._tcp.local"]}, "Lutron", "smart_hub"),
]


@pytest.mark.parametrize(("name", "mac", "attributes", "vendor", "dtype"), DEVICES, ids=[d[0] for d in DEVICES])
def test_devices_described_by_their_documented_evidence(name: str, mac: str | None, attributes: dict[str, list[str]],
                                                         vendor: str, dtype: str) -> None:
    found = CLASSIFIER.classify(device(mac, **attributes))
    assert found["vendor"].value == vendor
    assert found["device_type"].value == dtype


def test_an_operating_system_clock_names_the_os_never_a_vendor() -> None:
    found = CLASSIFIER.classify(device("02:00:00:00:00:01", dns__qname=["2.debian.pool.ntp.org"]))
    assert found["os"].value == "Linux"
    assert "vendor" not in found and "device_type" not in found


def test_a_white_label_camera_on_a_shenzhen_module_is_not_named_after_the_module() -> None:
    # Shenzhen Reecam's block (an ODM of Insteon cameras); the P2P cloud names no product
    found = CLASSIFIER.classify(device("e8:ab:fa:00:00:01", dns__qname=["a1.tuyaus.com"]))
    assert found["vendor"].value == "Tuya"
