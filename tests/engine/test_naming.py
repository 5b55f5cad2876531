"""Flow.app on real captures: a flow is named after its dissector only once the dissector confirmed it
(dissect/base.py CONFIRMED_STATE_KEY, Zeek's AnalyzerConfirmation), by an Observation or by a valid message
that describes nothing. Flows whose bytes were never a valid message (a 1-byte keep-alive, the middle of
an HTTP body) stay unnamed; flows of valid messages that describe nothing keep their name."""

from __future__ import annotations

from collections import Counter

import pytest

from iotwarden.engine.core import Engine
from iotwarden.errors import CaptureError
from iotwarden.model import Flow
from iotwarden.sources.capfile import read_capture
from tests.conftest import shared
from tests.sources.capbuild import ACK, PSH, SYN, batch_of, ethernet, tcp


def flows_of(*path: str) -> list[Flow]:
    engine = Engine()
    out: list[Flow] = []
    try:
        for batch in read_capture(shared("pcaps", *path)):
            out += engine.process(batch).flows
    except CaptureError:
        pass  # a damaged capture: what was read counts
    return out + engine.flush().flows


def apps(flows: list[Flow], port: int) -> Counter[str | None]:
    """The names of the flows with payload that have ``port`` on either end."""
    return Counter(f.app for f in flows if port in (f.a_port, f.b_port) and (f.payload_ab or f.payload_ba))


@pytest.mark.parametrize(("path", "port", "want"), [
    # valid messages that describe nothing confirm: MQTT PINGREQ/PINGRESP only (MQTT 3.1.1 §3.12, §3.13)
    (("suricata_verify", "mqtt-ping", "input.pcap"), 1883, {"mqtt": 1}),
    # DNP3 link frames whose CRCs hold, in fragments too long to reassemble
    (("suricata_verify", "dnp3", "dnp3-too-long-reassembly-request", "input.pcap"), 20000, {"dnp3": 1}),
    # a TLS record of a connection whose handshake the capture missed (no hello, nothing described)
    (("ics_iti", "pcaps", "hart", "hart_ip.pcap"), 443, {"tls": 1}),
    # Telnet option negotiation (IAC DONT, IAC SB ... IAC SE) without any login dialogue
    (("tcpdump_tests", "telnet-iac-check-oobr.pcap"), 23, {"telnet": 1}),
])
def test_valid_messages_that_describe_nothing_still_name_their_flow(path: tuple[str, ...], port: int,
                                                                    want: dict[str, int]) -> None:
    assert apps(flows_of(*path), port) == want


def test_a_keep_alive_byte_names_no_flow() -> None:
    # ISO-TSAP (tcp/102): the MMS associations are named; the client's 1-byte TCP keep-alives on
    # connections whose start the capture missed are not S7comm or MMS
    flows = flows_of("ics_iti", "pcaps", "IEC61850", "Sample_File_MMS_and_GOOSE.pcap")
    got = apps(flows, 102)
    assert got[None] == 2 and "s7comm" not in got and got["mms"] >= 1
    unnamed = [f for f in flows if 102 in (f.a_port, f.b_port) and f.app is None and (f.payload_ab or f.payload_ba)]
    assert [f.payload_ab + f.payload_ba for f in unnamed] == [1, 1]
    assert all("failed_services" not in f.extra for f in unnamed)  # buffered, never rejected


def test_bytes_that_were_never_the_ports_protocol_are_its_failed_service() -> None:
    # tcp/443 carrying another protocol (length-prefixed binary, no TLS record header): it used to be
    # named tls at its first 4 bytes, which the TLS dissector only buffered
    [flow] = [f for f in flows_of("ics_iti", "pcaps", "openics", "EIP-IPAddressChangeAttempt.pcap")
              if 443 in (f.a_port, f.b_port)]
    assert (flow.app, flow.extra.get("failed_services")) == (None, ["tls"])


def test_the_middle_of_an_http_body_names_no_flow() -> None:
    # one HTTP exchange cut by idle timeouts into several flows: only the one with the request is HTTP
    got = apps(flows_of("ics_iti", "pcaps", "IEC61850", "m-send-req.mms.pcap"), 80)
    assert got["http"] == 1 and got[None] >= 1


@pytest.mark.parametrize(("port", "payload"), [(9999, b"\x00"), (1883, b"\xc0"), (443, b"\x17\x03"),
                                               (23, b"\r\n"), (53, b"\x00")])
def test_a_keep_alive_on_a_registered_port_names_nothing(port: int, payload: bytes) -> None:
    c, s = "192.0.2.10", "192.0.2.20"
    frames = [(1.0, ethernet(tcp(c, s, 40000, port, SYN, 99))),
              (1.1, ethernet(tcp(c, s, 40000, port, PSH | ACK, 100, payload)))]
    engine = Engine()
    flows = engine.process(batch_of(frames)).flows + engine.flush().flows
    assert [(f.app, f.extra.get("failed_services")) for f in flows] == [(None, None)]
