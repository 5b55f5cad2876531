"""The classifier on printers that answered a client in their own words (kb/data/rules/printing.yaml): the IPP
printer attributes of a Get-Printer-Attributes answer on tcp/631 (dissect/http.py kind ipp_response) and the
PJL INFO ID reply on tcp/9100 (dissect/pjl.py); an MFP is typed only where the printer says it scans or faxes;
a CUPS queue's driver name names no model; the client that asked gets nothing."""

from __future__ import annotations

from typing import Any

import pytest

from iotwarden.dissect.base import Packet
from iotwarden.dissect.http import HttpDissector
from iotwarden.dissect.pjl import PjlDissector
from iotwarden.inventory.classifier import Classifier
from iotwarden.model import Device, Observation
from tests.dissect.hostile import contract_call
from tests.dissect.ippdocs import (
    CUPS_GET_PRINTER_ATTRIBUTES,
    HP_DEVICE_ID,
    HP_PRINTER_ATTRIBUTES,
    KEYWORD,
    PRINTER,
    TEXT,
    URI,
    attr,
    ipp_answer,
    ipp_post,
    message,
    operation_group,
)
from tests.inventory.test_classifier_upnp import CLIENT_MAC, classified, exchange, inventory

SERVER_IP = "192.168.1.70"
PRINTER_MAC = "02:00:00:00:00:70"  # locally administered: names no maker, all comes from what the printer says


def ask(answer: bytes, mac: str | None = PRINTER_MAC, chunk: int = 0,
        server: bytes = b"ipp-server") -> list[Observation]:
    """A CUPS client's Get-Printer-Attributes to the printer at ``mac`` and its answer, on tcp/631 (a Server
    header that names nothing unless given: what is concluded comes from IPP)."""
    return exchange(ipp_post(CUPS_GET_PRINTER_ATTRIBUTES, chunk=chunk),
                    ipp_answer(answer, chunk=chunk, server=server), mac, SERVER_IP, 631)


def printer_answer(*attributes: bytes) -> bytes:
    return message(0, 42, [operation_group(), (PRINTER, b"".join(attributes))])


def device(observations: list[Observation], mac: str | None = PRINTER_MAC) -> Device:
    return inventory(observations)[f"mac:{mac}" if mac else f"ip:{SERVER_IP}"]


@pytest.mark.parametrize(("mac", "chunk"), [(PRINTER_MAC, 0), (None, 0), (PRINTER_MAC, 97)])
def test_a_printer_answering_get_printer_attributes_is_that_vendors_printer_with_its_model(
        mac: str | None, chunk: int) -> None:
    printer = device(ask(HP_PRINTER_ATTRIBUTES, mac, chunk=chunk), mac)
    assert printer.attributes["http.ipp_make_and_model"] == {"HP LaserJet Pro M404dn"}
    assert classified(printer) == {"vendor": "HP", "device_type": "printer", "model": "HP LaserJet Pro M404dn"}
    found = Classifier().classify(printer)
    assert found["firmware"].value in ("002_2310A", "20230310")  # PWG 5100.13 printer-firmware-string-version


def test_what_is_never_kept_reaches_no_device() -> None:
    devices = inventory(ask(HP_PRINTER_ATTRIBUTES))
    text = repr({key: d.attributes for key, d in devices.items()})
    assert "alice" not in text and "Alice" not in text and "HP-2F-Finance" not in text


@pytest.mark.parametrize(("device_id", "maker", "model"), [
    ("MFG:Hewlett-Packard;MDL:HP LaserJet 4250;CMD:PJL,PCL,POSTSCRIPT;CLS:PRINTER;", "HP", "HP LaserJet 4250"),
    ("MANUFACTURER:Brother;COMMAND SET:PJL,PCL,PCLXL,URF;MODEL:HL-L2350DW series;", "Brother", "HL-L2350DW series"),
])
def test_the_ieee_1284_device_id_alone_names_maker_model_and_type(device_id: str, maker: str, model: str) -> None:
    printer = device(ask(printer_answer(attr(TEXT, "printer-device-id", device_id))))
    assert classified(printer) == {"vendor": maker, "device_type": "printer", "model": model}


@pytest.mark.parametrize("feature", ["scan", "faxout"])
def test_a_printer_that_says_it_scans_or_faxes_is_an_mfp(feature: str) -> None:
    answer = printer_answer(attr(TEXT, "printer-make-and-model", "HP Color LaserJet Pro MFP M479fdw"),
                            attr(KEYWORD, "ipp-features-supported", "ipp-everywhere", feature))
    assert classified(device(ask(answer)))["device_type"] == "mfp"


def test_mfp_in_a_name_is_no_evidence_of_scanning() -> None:
    answer = printer_answer(attr(TEXT, "printer-make-and-model", "HP Color LaserJet Pro MFP M479fdw"))
    assert classified(device(ask(answer))) == {"vendor": "HP", "device_type": "printer",
                                               "model": "HP Color LaserJet Pro MFP M479fdw"}


@pytest.mark.parametrize("driver", [
    "HP LaserJet Pro M404-M405, hpcups 3.22.10", "Generic PostScript Printer Foomatic/Postscript (recommended)",
    "Local Raw Printer", "HP LaserJet Pro M404dn - IPP Everywhere",
])
def test_a_cups_queues_driver_name_names_no_model(driver: str) -> None:
    host = device(ask(printer_answer(attr(TEXT, "printer-make-and-model", driver))))
    assert classified(host)["model"] is None


def test_the_client_that_asked_is_untouched() -> None:
    client = inventory(ask(HP_PRINTER_ATTRIBUTES))[f"mac:{CLIENT_MAC}"]
    assert not [a for a in client.attributes if a.startswith("http.ipp_")]
    assert classified(client) == {"vendor": "ASUS", "device_type": None, "model": None}  # its own MAC block only


def talk(dissector: HttpDissector | PjlDissector, request: bytes, answer: bytes, port: int,
         client_mac: str = CLIENT_MAC) -> list[Observation]:
    """A client's request to the printer at PRINTER_MAC on ``port`` and the printer's answer."""
    state: dict[str, Any] = {}
    out: list[Observation] = []
    for to_server, data in ((True, request), (False, answer)):
        src, dst = ((client_mac, "192.168.1.20", 50200), (PRINTER_MAC, SERVER_IP, port))[:: 1 if to_server else -1]
        pkt = Packet(ts=100.0, payload=data, src_mac=src[0], src_ip=src[1], src_port=src[2], dst_mac=dst[0],
                     dst_ip=dst[1], dst_port=dst[2], ip_proto=6, to_server=to_server)
        out.extend(contract_call(dissector, pkt, state))
    return out


def test_a_mac_asking_with_cups_is_apples() -> None:
    request = ipp_post(CUPS_GET_PRINTER_ATTRIBUTES, user_agent=b"CUPS/2.3.4 (Darwin 23.3.0; arm64) IPP/2.0")
    mac = "02:00:00:00:00:21"  # a private (randomised) address: it names no maker
    devices = inventory(talk(HttpDissector(), request, ipp_answer(HP_PRINTER_ATTRIBUTES), 631, client_mac=mac))
    assert classified(devices[f"mac:{mac}"]) == {"vendor": "Apple", "device_type": None, "model": None}
    assert classified(devices[f"mac:{PRINTER_MAC}"])["vendor"] == "HP"


def test_a_printer_answering_pjl_info_id_is_that_vendors_printer_with_its_model() -> None:
    job = b"\x1b%-12345X@PJL INFO ID\r\n@PJL INFO CONFIG\r\n@PJL ENTER LANGUAGE=PCL\r\n\x1bE"
    replies = (b'@PJL INFO ID\r\n"HP LaserJet 4250"\r\n\x0c'
               b"@PJL INFO CONFIG\r\nLANGUAGES [2 ENUMERATED]\r\n\tPCL\r\n\tPOSTSCRIPT\r\n\x0c")
    devices = inventory(talk(PjlDissector(), job, replies, 9100))
    printer = devices[f"mac:{PRINTER_MAC}"]
    assert printer.attributes["pjl.model"] == {"HP LaserJet 4250"}
    assert classified(printer) == {"vendor": "HP", "device_type": "printer", "model": "HP LaserJet 4250"}
    assert not [a for a in devices[f"mac:{CLIENT_MAC}"].attributes if a.startswith("pjl.")]


@pytest.mark.parametrize(("server", "maker"), [(b"EPSON-IPP/1.00", "Epson"), (b"EpsonNet IPP-SERVER/2.1", "Epson")])
def test_the_ipp_servers_own_header_names_the_printer_maker(server: bytes, maker: str) -> None:
    answer = message(0, 42, [operation_group()])  # an answer that states nothing of the printer
    assert classified(device(ask(answer, server=server))) == {"vendor": maker, "device_type": "printer",
                                                              "model": None}


def test_canon_s_http_server_in_an_ipp_answer_names_the_maker_and_the_answer_the_printer() -> None:
    # Canon's network cameras answer with the same server (Rapid7 Recog xml/http_servers.xml), and http.server
    # keeps no channel: the header names Canon, what the answer states of the printer (RFC 8011 §5.4) the kind
    bare = message(0, 42, [operation_group()])
    assert classified(device(ask(bare, server=b"Canon Http Server 1.00"))) == {
        "vendor": "Canon", "device_type": None, "model": None}
    stated = printer_answer(attr(TEXT, "printer-make-and-model", "Canon MF740C/640C"))
    assert classified(device(ask(stated, server=b"Canon Http Server 1.00"))) == {
        "vendor": "Canon", "device_type": "printer", "model": "Canon MF740C/640C"}


def test_a_cups_server_answering_for_its_queue_is_no_printer_and_not_the_printers_maker() -> None:
    # the Linux print server's queue answers with the HP printer's model and 1284 id behind it
    queue = printer_answer(attr(URI, "printer-uri-supported", "ipp://192.168.1.70:631/printers/HP_M404"),
                           attr(TEXT, "printer-make-and-model", "HP LaserJet Pro M404dn"),
                           attr(TEXT, "printer-device-id", HP_DEVICE_ID))
    server = device(ask(queue, server=b"CUPS/2.4 IPP/2.1"))
    assert not any(name.startswith("http.ipp_") for name in server.attributes)
    assert classified(server).get("device_type") != "printer" and classified(server).get("vendor") != "HP"
