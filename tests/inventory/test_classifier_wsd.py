"""WS-Discovery evidence from the wire to the classifier: the messages go through the dissector, the
identity rules and the inventory builder, and the device a Hello or a match describes gets the vendor,
model and type the knowledge base's wsd rules say, each with its reference; a searcher gets none."""

from __future__ import annotations

from functools import cache

import pytest

from iotwarden.dissect.wsd import WsdDissector
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.inventory.classifier import Classifier
from iotwarden.kb import KnowledgeBase
from iotwarden.model import Device
from tests.conftest import shared
from tests.dissect.discovery import udp
from tests.dissect.test_wsd import (
    DAHUA_HELLO,
    HIKVISION_PROBE_MATCH,
    MFP_PROBE_MATCHES,
    WSD_NAMESPACES,
    envelope,
    match,
)
from tests.pcaputil import run_dissector

LOCAL_MAC = "02:00:00:00:00:0a"  # udp()'s sender: locally administered, so the IEEE registry says nothing
HIKVISION_MAC = "44:47:cc:2b:10:03"  # an IEEE MA-L block of Hangzhou Hikvision


@cache
def _classifier() -> Classifier:
    return Classifier(KnowledgeBase.load())


def device_of(*payloads: bytes, mac: str = LOCAL_MAC, probe: bool = False) -> Device:
    """The device the sender of ``payloads`` becomes (a match answers a probe from port 3702)."""
    ctx, inv, d = Context(), InventoryBuilder(), WsdDissector()
    for payload in payloads:
        pkt = udp(payload, 50000 if probe else 3702, 3702 if probe else 50000, src_ip="192.0.2.10")
        pkt.src_mac = mac
        for obs in d.dissect(pkt, {}):
            inv.on_observation(ctx, obs)
    dev = ctx.devices[f"mac:{mac}"]
    dev.classification = _classifier().classify(dev)
    return dev


def _evidence(dev: Device, prop: str) -> list[dict[str, object]]:
    return [e for e in dev.classification[prop].evidence if e["agrees"]]


def test_an_onvif_camera_is_a_camera_of_the_vendor_and_model_its_scopes_name() -> None:
    dev = device_of(HIKVISION_PROBE_MATCH)
    assert dev.attributes["wsd.onvif_hardware"] == {"DS-2CD3955FWD-IWS"}
    assert (dev.vendor, dev.device_type, dev.category) == ("Hikvision", "camera", "iot")
    assert dev.conclusion("model") == "DS-2CD3955FWD-IWS"
    for prop in ("vendor", "model", "device_type"):
        evidence = _evidence(dev, prop)
        assert evidence and all(str(e["rule_id"]).startswith("wsd.") and e["reference"] for e in evidence), prop
    assert "wsd.onvif.name.hikvision" in {e["rule_id"] for e in _evidence(dev, "vendor")}


def test_the_name_scopes_vendor_is_the_one_the_registry_names() -> None:
    # HIKVISION in the name scope and the MAC block of "Hangzhou Hikvision Digital Technology" agree
    dev = device_of(HIKVISION_PROBE_MATCH, mac=HIKVISION_MAC)
    rules = {e["rule_id"] for e in _evidence(dev, "vendor")}
    assert dev.vendor == "Hikvision" and {"wsd.onvif.name.hikvision", "mac.oui.registry"} <= rules


def test_a_dahua_camera_hello_and_a_dahua_recorder() -> None:
    cam = device_of(DAHUA_HELLO)
    assert (cam.vendor, cam.device_type, cam.conclusion("model")) == ("Dahua", "camera", "IPC-HFW2228M-I1-V2")
    recorder = DAHUA_HELLO.replace(b"IPC-HFW2228M-I1-V2", b"DH-XVR5108HS-X")
    nvr = device_of(recorder)
    assert (nvr.vendor, nvr.device_type, nvr.conclusion("model")) == ("Dahua", "nvr", "DH-XVR5108HS-X")


def test_an_onvif_recorder_by_its_storage_type_scope() -> None:
    scopes = "onvif://www.onvif.org/type/Network_Video_Storage onvif://www.onvif.org/name/Recorder"
    dev = device_of(envelope(f"<d:ProbeMatches>{match('dn:NetworkVideoTransmitter', scopes)}</d:ProbeMatches>",
                             namespaces='xmlns:dn="http://www.onvif.org/ver10/network/wsdl"'))
    assert dev.device_type == "nvr" and dev.vendor is None  # "Recorder" names no brand


@pytest.mark.parametrize(("name", "hardware", "vendor"), [
    ("AXIS%20M2036-LE", "M2036-LE", "Axis"),  # AXIS OS: name 'AXIS <model>'
    ("VIVOTEK%20FD9187-HT", "FD9187-HT", "Vivotek"),  # as networkoptix/nx_open's vivotekHook describes
])
def test_a_camera_naming_brand_and_model_gets_both(name: str, hardware: str, vendor: str) -> None:
    scopes = (f"onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/hardware/{hardware} "
              f"onvif://www.onvif.org/name/{name} onvif://www.onvif.org/location/")
    dev = device_of(envelope(f"<d:Hello>{match('tds:Device dn:NetworkVideoTransmitter', scopes)}</d:Hello>"))
    assert (dev.vendor, dev.device_type, dev.conclusion("model")) == (vendor, "camera", hardware)


def test_a_name_that_is_no_brand_names_no_vendor() -> None:
    scopes = "onvif://www.onvif.org/name/IPCAM onvif://www.onvif.org/hardware/HD_PREDATOR"
    dev = device_of(envelope(f"<d:Hello>{match('dn:NetworkVideoTransmitter', scopes)}</d:Hello>"))
    assert (dev.vendor, dev.device_type, dev.conclusion("model")) == (None, "camera", "HD_PREDATOR")


def test_a_wsd_printer_is_a_printer_and_a_multifunction_printer_an_mfp() -> None:
    printer = device_of(envelope(f"<d:ProbeMatches>{match('wsdp:Device wprt:PrintDeviceType')}</d:ProbeMatches>",
                                 namespaces=WSD_NAMESPACES))
    assert (printer.device_type, printer.category) == ("printer", "iot")
    assert {e["rule_id"] for e in _evidence(printer, "device_type")} == {"wsd.type.print_device"}
    mfp = device_of(MFP_PROBE_MATCHES)
    assert mfp.device_type == "mfp"
    scanner = device_of(envelope(f"<d:Hello>{match('wsdp:Device wscn:ScanDeviceType')}</d:Hello>",
                                 namespaces=WSD_NAMESPACES))
    assert (scanner.device_type, scanner.category) == ("scanner", "it")


def test_a_windows_host_announcing_itself_is_an_it_workstation() -> None:
    # ITI ICS-Security-Tools, pcaps/s7/S7Comm/wrapup.pcapng: the PC's Hello says wsdp:Device pub:Computer
    obs = run_dissector(WsdDissector(), shared("pcaps", "ics_iti", "pcaps", "s7", "S7Comm", "wrapup.pcapng"))
    ctx, inv = Context(), InventoryBuilder()
    for o in obs:
        inv.on_observation(ctx, o)
    [dev] = [d for d in ctx.devices.values() if "wsd.types" in d.attributes]
    dev.classification = _classifier().classify(dev)
    assert "{http://schemas.microsoft.com/windows/pub/2005/07}Computer" in dev.attributes["wsd.types"]
    assert (dev.device_type, dev.category) == ("workstation", "it")


def test_a_searcher_is_not_typed_by_what_it_searches_for() -> None:
    # a video management system probing for cameras, and a PC resolving a printer's endpoint
    probe = envelope("<d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types>"
                     "<d:Scopes>onvif://www.onvif.org/name/HIKVISION</d:Scopes></d:Probe>",
                     namespaces='xmlns:dn="http://www.onvif.org/ver10/network/wsdl"')
    resolve = envelope("<d:Resolve><a:EndpointReference><a:Address>urn:uuid:e3248000-80ce-11db-8000-30055c00d9cd"
                       "</a:Address></a:EndpointReference></d:Resolve>")
    dev = device_of(probe, resolve, probe=True)
    assert "wsd" in dev.protocols
    assert not {name for name in dev.attributes if name.startswith("wsd.")}
    assert dev.device_type is None and dev.vendor is None
