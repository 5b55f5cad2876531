"""CoAP dissector on real traffic: libcoap 4.3.1's coap-client against an aiocoap 0.4.17 server.

The capture (tests/dissect/data/coap_aiocoap_libcoap.pcap, made by make_captures.py): GET
/.well-known/core, GET /sensors/temp, PUT /actuators/led, a NON GET, and an observation of
/sensors/temp with two notifications (RFC 7641), each on its own client port.
"""

from __future__ import annotations

from iotwarden.dissect.coap import CoapDissector
from iotwarden.model import Observation
from tests.dissect.data.captures import by_dissector, by_engine, comparable

CAPTURE = "coap_aiocoap_libcoap.pcap"
SERVER = "127.0.0.1"
TEXT_PLAIN, LINK_FORMAT = 0, 40  # Content-Format registry, RFC 7252 §12.3


def _observed() -> list[Observation]:
    return by_dissector(CoapDissector(), CAPTURE)


def _summary(o: Observation) -> tuple[object, ...]:
    f = o.fields
    return (o.kind, f["type"], f["code"], f.get("uri_path"), f.get("content_format"), f.get("observe"))


def test_messages_in_order_with_type_code_path_format_and_observe() -> None:
    assert [_summary(o) for o in _observed()] == [
        ("request", "CON", "GET", "/.well-known/core", None, None),
        ("response", "ACK", "2.05", None, LINK_FORMAT, None),
        ("request", "CON", "GET", "/sensors/temp", None, None),
        ("response", "ACK", "2.05", None, TEXT_PLAIN, None),
        ("request", "CON", "PUT", "/actuators/led", TEXT_PLAIN, None),
        ("response", "ACK", "2.04", None, None, None),  # 2.04 Changed, §5.9.1.4
        ("request", "NON", "GET", "/actuators/led", None, None),
        ("response", "NON", "2.05", None, TEXT_PLAIN, None),  # NON answered NON, §5.2.3
        ("request", "CON", "GET", "/sensors/temp", None, 0),  # Observe: 0 registers, RFC 7641 §2
        ("response", "ACK", "2.05", None, TEXT_PLAIN, 0),
        ("response", "CON", "2.05", None, TEXT_PLAIN, 1),  # notifications, RFC 7641 §4.2
        ("empty", "ACK", "0.00", None, None, None),
        ("response", "CON", "2.05", None, TEXT_PLAIN, 2),
        ("empty", "ACK", "0.00", None, None, None),
        ("request", "CON", "GET", "/sensors/temp", None, 1),  # Observe: 1 deregisters
        ("response", "ACK", "2.05", None, TEXT_PLAIN, None),
    ]


def test_acks_echo_the_message_id_and_responses_the_token() -> None:
    obs = _observed()
    for req, resp in zip(obs[0:10:2], obs[1:10:2], strict=True):
        assert req.fields["token"] == resp.fields["token"] == "01"  # libcoap's first token
        if resp.fields["type"] == "ACK":  # piggybacked response, §5.2.1
            assert resp.fields["message_id"] == req.fields["message_id"]
    notification, ack = obs[10], obs[11]
    assert ack.fields["message_id"] == notification.fields["message_id"]
    assert ack.fields["token"] == ""  # an empty ACK has no token, §4.2
    # libcoap draws each client's first message id at random: make_captures.py changes these pins
    assert [o.fields["message_id"] for o in obs[:5:2]] == [7666, 4689, 6996]


def test_well_known_core_lists_the_servers_resources() -> None:
    listing = _observed()[1]
    assert listing.src_ip == SERVER and listing.src_port == 5683
    assert listing.fields["payload_length"] == 172
    assert listing.fields["links"] == [
        '</.well-known/core>;ct="40"',
        '</sensors/temp>;rt="temperature-c";obs',
        '</actuators/led>;rt="light"',
        '<https://christian.amsuess.com/tools/aiocoap/#version-0.4.17>;rel="impl-info"',
    ]


def test_the_engine_with_default_dissectors_sees_the_same() -> None:
    assert comparable(by_engine("coap", CAPTURE)) == comparable(_observed())
