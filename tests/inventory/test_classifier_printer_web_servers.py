"""Printers' embedded web servers by their Server header (RFC 9110 §10.2.4), and the generic embedded servers that
many makers' products share, which name no kind: the biggest unknown printer group of bench/fingerprint_eval.py,
read only where a document we may cite names the server (brief F2 c)."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating


@pytest.mark.parametrize("server", [
    "debut/1.20",  # CVE-2017-16249 / CVE-2017-12568: the Debut embedded httpd 1.20 of Brother's printers
    "debut/1.30",
    "Debut/1.20",  # the server's name as its advisories spell it (Trustwave TWSL2017-017)
    "DEBUT/1.11",
])
def test_brother_s_debut_server_names_a_brother_printer_in_either_case(server: str) -> None:
    dev = stating(http__server=server)
    found = concluded(dev)
    assert (found.get("vendor"), found.get("device_type")) == ("Brother", "printer")
    assert "http.server.brother_debut" in rules_for(dev, "device_type")


@pytest.mark.parametrize("server", [
    "Debut",  # no version: not the server's header
    "debutante/1.0",
    "My debut/1.0",
])
def test_what_is_not_the_debut_header_names_no_printer(server: str) -> None:
    assert concluded(stating(http__server=server)).get("device_type") != "printer", server


# Rapid7 Recog xml/http_servers.xml (BSD-2-Clause) describes each as shared by many makers' devices, or as telling
# nothing; the measure's labels put some on printers (a Sharp 'Rapid Logic/1.1', a Ricoh-made Savin 'Web-Server/3.0',
# a Canon 'JC-HTTPD'), which the server alone cannot tell. None may name a kind or a maker.
@pytest.mark.parametrize("server", [
    "Rapid Logic/1.1",  # 'Embedded web server by Rapid Logic, which was acquired by Wind River'
    "Rapid Logic/1",
    "WindRiver-WebServer/4.4",
    "Web-Server/3.0",  # 'Obfuscated web server -- assert nothing'
    "JC-HTTPD/1.11.14",  # 'An embedded web server, used notably by Oki and Kyocera in printers'
    "JC-SHTTPD/1.17.20",  # Sharp printers and Silex USB device servers among others
    "Allegro-Software-RomPager/4.01",  # APC, 3Com, Cisco VoIP, D-Link, Konica Minolta, Xerox and more
    "RomPager/4.07 UPnP/1.0",
])
def test_generic_embedded_servers_name_no_kind_and_no_maker(server: str) -> None:
    found = concluded(stating(http__server=server))
    assert (found.get("device_type"), found.get("vendor")) == (None, None), server
