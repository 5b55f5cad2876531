"""Canon's embedded web server by its Server header (RFC 9110 §10.2.4): the maker, never a kind by itself, since
the same server runs on Canon's printers and its network cameras (Rapid7 Recog xml/http_servers.xml: 'not sure
if this is a printer or network camera'); a printer is typed by what only a printer says (issue #3, brief C1 a)."""

from __future__ import annotations

import pytest

from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

CANON_SERVERS = [
    "CANON HTTP Server",  # the Remote UI's header (WhatWeb canon-printer, Greenbone's Canon printer detection)
    "CANON HTTP Server Ver2.21",  # Recog's example
    "Canon Http Server 2.10",  # Recog's example
    "Canon Http Server 1.00",  # nmap-service-probes 'match ipp'
]


@pytest.mark.parametrize("server", CANON_SERVERS)
def test_canon_s_server_alone_names_canon_and_no_kind(server: str) -> None:
    dev = stating(http__server=server)
    found = concluded(dev)
    assert (found.get("vendor"), found.get("device_type")) == ("Canon", None), server
    assert rules_for(dev, "vendor") & {"http.server.canon", "ipp.server.canon_http"}


@pytest.mark.parametrize("server", CANON_SERVERS)
def test_canon_s_server_with_printer_only_evidence_is_a_canon_printer(server: str) -> None:
    # IPP printer-make-and-model (RFC 8011 §5.4) and the 1284 device id's command set (PWG 5107.2) only a printer says
    found = concluded(stating(http__server=server, http__ipp_make_and_model="Canon iR-ADV C5535",
                              http__ipp_device_cmd="PCL"))
    assert (found.get("vendor"), found.get("device_type")) == ("Canon", "printer"), server


def test_canon_s_server_beside_camera_evidence_is_no_printer() -> None:
    found = concluded(stating(http__server="Canon Http Server 2.10", rtsp__server="Canon VB-H41"))
    assert found.get("vendor") == "Canon" and found.get("device_type") != "printer"


@pytest.mark.parametrize("server", ["Canon", "canon http server", "My CANON HTTP Server", "Canon Http Server"])
def test_other_headers_are_not_canon_s_server(server: str) -> None:
    assert concluded(stating(http__server=server)).get("vendor") != "Canon", server
