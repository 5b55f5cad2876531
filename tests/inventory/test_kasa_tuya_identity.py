"""Kasa and Tuya discovery from the wire to the classifier: captures go through the engine, the kasa and
tuya dissectors, the identity rules and the inventory builder. A Kasa device's sysinfo answer makes it a
TP-Link device of the family, model and firmware it states, each with a reference, while the phone whose
app asked gets nothing; a Tuya announcement names the platform and nothing of the kind."""

from __future__ import annotations

import json
from pathlib import Path

from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.lab.wire import Frame, Host
from iotwarden.model import Device
from tests.dissect.test_kasa import DISCOVERY, EC60, HS110, KL130, P110, TDP_KEY_PROBE, encrypt, framed, tdp
from tests.dissect.test_tuya import ANNOUNCE, APP_REQUEST, V33, V35, as_json, frame_6699
from tests.risk.harness import T0, classified_by_ip, host, run_capture, tcp, udp, write_pcap

BROADCAST = Host("ff:ff:ff:ff:ff:ff", "10.9.0.255")
# another device of the same product: its own device id (gwId is one device's: inventory/linking.py)
BULB_V35 = frame_6699(0x13, b"\x00\x00\x00\x00" + as_json({**ANNOUNCE, "version": "3.5",
                                                           "gwId": "bf0a8cd32c5ea0b1a8xkqz"}) + b"\x00")
PHONE_PORT = 50123


def _discovery(phone: Host, answers: list[tuple[Host, bytes]]) -> list[Frame]:
    """The Kasa app's broadcast query and each device's unicast sysinfo answer to the phone's port."""
    frames = udp(phone, BROADCAST, PHONE_PORT, 9999, encrypt(DISCOVERY))
    for n, (device, body) in enumerate(answers, 1):
        frames += udp(device, phone, 9999, PHONE_PORT, body, t=T0 + 0.01 * n)
    return frames


def _rules(dev: Device, prop: str) -> set[str]:
    found = dev.classification[prop]
    assert all(e["reference"] for e in found.evidence)
    return {str(e["rule_id"]) for e in found.evidence if e["agrees"]}


def test_a_kasa_plug_is_a_tplink_smart_plug_and_the_phone_asking_is_nothing(tmp_path: Path) -> None:
    phone, plug = host(5), host(20)  # locally administered MACs: no registry vendor to lean on
    frames = _discovery(phone, [(plug, encrypt(json.dumps(HS110)))])
    devices = classified_by_ip(write_pcap(tmp_path / "kasa.pcap", frames))
    dev = devices[plug.ip]
    assert dev.attributes["kasa.model"] == {"HS110(US)"}
    assert dev.attributes["kasa.sw_ver"] == {"1.2.6 Build 200727 Rel.121701"}
    assert not {"kasa.alias", "kasa.latitude", "kasa.longitude"} & set(dev.attributes)
    assert (dev.vendor, dev.device_type, dev.category) == ("TP-Link", "smart_plug", "iot")
    assert (dev.conclusion("model"), dev.conclusion("firmware")) == ("HS110", "1.2.6")
    assert _rules(dev, "device_type") == {"kasa.type.plug_switch"}
    assert _rules(dev, "model") == {"kasa.model"} and _rules(dev, "firmware") == {"kasa.firmware"}
    app = devices[phone.ip]
    assert "kasa" in app.protocols
    assert not {name for name in app.attributes if name.startswith("kasa.")}
    assert (app.vendor, app.device_type, app.conclusion("model")) == (None, None, None)


def test_a_bulb_and_a_camera_answering_one_query(tmp_path: Path) -> None:
    phone, bulb, camera = host(5), host(21), host(22)
    answers = [(bulb, encrypt(json.dumps(KL130))), (camera, encrypt(json.dumps(EC60)))]
    devices = classified_by_ip(write_pcap(tmp_path / "kasa.pcap", _discovery(phone, answers)))
    found = {ip: (d.vendor, d.device_type, d.conclusion("model")) for ip, d in devices.items()}
    assert found[bulb.ip] == ("TP-Link", "smart_bulb", "KL130")
    assert found[camera.ip] == ("TP-Link", "camera", "EC60")
    assert found[phone.ip] == (None, None, None)


def test_tapo_devices_answering_the_tdp_probe(tmp_path: Path) -> None:
    phone, plug, hub = host(5), host(24), host(25)
    h100 = tdp(json.dumps({"result": {"device_type": "SMART.TAPOHUB", "device_model": "H100(EU)",
                                      "device_id": "80ABCDEF", "mac": "3C-52-A1-00-00-02"}, "error_code": 0}).encode())
    frames = udp(phone, BROADCAST, PHONE_PORT, 20002, TDP_KEY_PROBE)
    frames += udp(plug, phone, 20002, PHONE_PORT, P110, t=T0 + 0.02)
    frames += udp(hub, phone, 20002, PHONE_PORT, h100, t=T0 + 0.03)
    devices = classified_by_ip(write_pcap(tmp_path / "tdp.pcap", frames))
    assert (devices[plug.ip].vendor, devices[plug.ip].device_type, devices[plug.ip].conclusion("model")) == (
        "TP-Link", "smart_plug", "P110")
    assert not {"kasa.owner", "kasa.device_name"} & set(devices[plug.ip].attributes)
    assert (devices[hub.ip].vendor, devices[hub.ip].device_type, devices[hub.ip].conclusion("model")) == (
        "TP-Link", "smart_hub", "H100")
    assert (devices[phone.ip].vendor, devices[phone.ip].device_type) == (None, None)


def test_the_sysinfo_of_a_tcp_session_describes_the_device_not_the_client(tmp_path: Path) -> None:
    hub, plug = host(6), host(23)  # Home Assistant polling a plug over tcp/9999
    frames = tcp(hub, plug, 9999, [(True, framed(DISCOVERY)), (False, framed(json.dumps(HS110)))])
    devices = classified_by_ip(write_pcap(tmp_path / "kasa-tcp.pcap", frames))
    assert (devices[plug.ip].vendor, devices[plug.ip].device_type) == ("TP-Link", "smart_plug")
    assert "kasa" in devices[plug.ip].attributes["service.server"]
    assert (devices[hub.ip].vendor, devices[hub.ip].device_type) == (None, None)


def test_a_tuya_announcer_is_a_tuya_device_of_no_stated_kind(tmp_path: Path) -> None:
    plug, bulb = host(30), host(31)
    frames = udp(plug, BROADCAST, 63145, 6667, V33) + udp(bulb, BROADCAST, 40001, 7000, BULB_V35, t=T0 + 0.5)
    devices = classified_by_ip(write_pcap(tmp_path / "tuya.pcap", frames))
    for device, version in ((plug, "3.3"), (bulb, "3.5")):
        dev = devices[device.ip]
        assert dev.attributes["tuya.version"] == {version}
        assert dev.attributes["tuya.product_key"] == {"8FAPq5h6gdV51Vcr"}
        assert (dev.vendor, dev.category, dev.device_type) == ("Tuya", "iot", None)
        assert _rules(dev, "vendor") == {"tuya.announce"}


def test_the_app_asking_tuya_devices_to_announce_is_not_one(tmp_path: Path) -> None:
    phone, bulb = host(5), host(31)  # the app's 3.5 request to udp/7000, the device's answer in kind
    frames = udp(phone, BROADCAST, 40002, 7000, APP_REQUEST) + udp(bulb, BROADCAST, 40001, 7000, V35, t=T0 + 0.2)
    devices = classified_by_ip(write_pcap(tmp_path / "tuya-app.pcap", frames))
    app = devices[phone.ip]
    assert "tuya" in app.protocols and not {name for name in app.attributes if name.startswith("tuya.")}
    assert (app.vendor, app.category) == (None, None)
    assert devices[bulb.ip].vendor == "Tuya"


def test_a_tuya_plug_on_an_espressif_module_is_still_tuya(tmp_path: Path) -> None:
    plug = Host("60:01:94:00:30:01", "10.9.0.40")  # an IEEE block of Espressif, the module's maker
    devices = classified_by_ip(write_pcap(tmp_path / "tuya.pcap", udp(plug, BROADCAST, 63145, 6667, V33)))
    assert devices[plug.ip].vendor == "Tuya"


def test_one_tuya_device_id_announced_from_two_macs_is_one_device(tmp_path: Path) -> None:
    # a device that came back with another MAC (a re-flashed module, a Wi-Fi chip swap) keeps its gwId
    before, after = Host("60:01:94:00:30:01", "10.9.0.40"), Host("60:01:94:00:30:02", "10.9.0.41")
    frames = udp(before, BROADCAST, 63145, 6667, V33) + udp(after, BROADCAST, 63145, 6667, V33, t=T0 + 600)
    ctx = run_capture(write_pcap(tmp_path / "tuya-twice.pcap", frames), [InventoryBuilder()])
    (device,) = [d for d in ctx.devices.values() if {before.ip, after.ip} & set(d.ips)]
    assert {before.ip, after.ip} <= set(device.ips)
