"""The classifier on devices that answered a WS-Transfer Get with their DPWS metadata (dissect/http.py kind
dpws_metadata, kb/data/rules/dpws.yaml): a printer gets its vendor, type and model from what it states; a
computer publishing pub:Computer is a workstation; the WSD client that fetched the metadata gets nothing."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.model import Observation
from tests.dissect.dpwsdocs import HP_MFP, WSDAPI_SAMPLE, WSDD_SAMBA, metadata_get, metadata_reply
from tests.inventory.test_classifier_upnp import CLIENT_MAC, classified, exchange, inventory

SERVER_IP = "192.168.1.60"  # the client is test_classifier_upnp's, a Windows PC on an ASUSTek block


def fetch(document: bytes, server_mac: str | None, port: int = 5357, **reply: Any) -> list[Observation]:
    """A WSD client's metadata Get to ``server_mac``'s device and the device's answer."""
    return exchange(metadata_get(), metadata_reply(document, **reply), server_mac, SERVER_IP, port)


@pytest.mark.parametrize(("mac", "port", "chunk"), [
    ("02:00:00:00:00:60", 5357, 0),  # a locally administered MAC that names no maker: all from the metadata
    (None, 3911, 0),  # routed: known by address only
    ("02:00:00:00:00:60", 80, 97),  # chunked answer on the printer's web port
])
def test_a_printer_answering_a_metadata_get_is_that_vendors_printer_with_its_model(
        mac: str | None, port: int, chunk: int) -> None:
    devices = inventory(fetch(HP_MFP, mac, port, chunk=chunk))
    printer = devices[f"mac:{mac}" if mac else f"ip:{SERVER_IP}"]
    result = classified(printer)
    assert result["vendor"] == "HP"
    assert result["device_type"] == "mfp"  # print and scan services together: the multifunction reading wins
    assert result["model"] == "HP LaserJet MFP M428fdw"


def test_a_print_only_device_is_a_printer() -> None:
    print_only = HP_MFP[: HP_MFP.index(b"<wsdp:Hosted><wsa:EndpointReference><wsa:Address>http://192.168.1.60:8018")]
    print_only += b"</wsdp:Relationship></wsx:MetadataSection></wsx:Metadata></soap:Body></soap:Envelope>"
    devices = inventory(fetch(print_only, "02:00:00:00:00:61"))
    assert classified(devices["mac:02:00:00:00:00:61"])["device_type"] == "printer"


def test_the_client_that_fetched_the_metadata_is_untouched() -> None:
    devices = inventory(fetch(HP_MFP, "02:00:00:00:00:60"))
    client = devices[f"mac:{CLIENT_MAC}"]
    assert not [a for a in client.attributes if a.startswith("http.dpws_")]
    assert classified(client) == {"vendor": "ASUS", "device_type": None, "model": None}  # its own MAC block only


def test_a_samba_host_running_wsdd_is_a_workstation_and_wsdd_names_no_vendor_or_model() -> None:
    devices = inventory(fetch(WSDD_SAMBA, "02:00:00:00:00:62"))
    host = devices["mac:02:00:00:00:00:62"]
    assert host.attributes["http.dpws_computer"]
    assert classified(host) == {"vendor": None, "device_type": "workstation", "model": None}


def test_microsofts_interop_sample_names_no_vendor_or_model() -> None:
    devices = inventory(fetch(WSDAPI_SAMPLE, "02:00:00:00:00:63"))
    result = classified(devices["mac:02:00:00:00:00:63"])
    assert result["vendor"] is None and result["model"] is None


@pytest.mark.parametrize("computer", [b"WS-FIN-01/Domain:CORP", b"WS-FIN-01\\Workgroup:WORKGROUP",
                                      b"WS-FIN-01\\NotJoined"])
def test_every_form_of_pub_computer_in_ms_pbsd_names_a_workstation(computer: bytes) -> None:
    document = WSDD_SAMBA.replace(b"FILESERVER/Workgroup:WORKGROUP", computer).replace(
        b"<wsdp:Types>pub:Computer</wsdp:Types>", b"")  # the pub:Computer element alone
    devices = inventory(fetch(document, "02:00:00:00:00:64"))
    host = devices["mac:02:00:00:00:00:64"]
    assert host.attributes["http.dpws_computer"] and "http.dpws_types" not in host.attributes
    assert classified(host)["device_type"] == "workstation"
