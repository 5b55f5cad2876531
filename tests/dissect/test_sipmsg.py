"""SIP message grammar (dissect/sipmsg.py): start lines, compact names and folding, lists, addresses, CSeq,
credentials and challenges as RFC 3261 writes them, and what is never returned."""

from __future__ import annotations

import pytest

from iotwarden.dissect.sipmsg import (
    MAX_HEADERS,
    MAX_LIST,
    address,
    call_id_hash,
    challenge,
    credentials,
    cseq,
    host_of,
    integer,
    is_ip,
    parse_head,
    request_uri,
    split_list,
    uri_of,
)
from iotwarden.errors import ParseError


def test_start_lines_and_headers_by_their_long_names() -> None:
    head = parse_head(b"invite sip:bob@biloxi.com SIP/2.0\r\nv: SIP/2.0/UDP a;branch=1\r\nVia: SIP/2.0/UDP b\r\n"
                      b"CALL-ID: x\r\nSubject: lunch\r\n  tomorrow\r\nnot a field\r\n: empty\r\n")
    assert (head.request, head.method, head.version) == (True, "INVITE", "SIP/2.0")
    assert head.items("via") == ["SIP/2.0/UDP a;branch=1", "SIP/2.0/UDP b"]
    assert head.first("call-id") == "x" and head.first("subject") == "lunch tomorrow"
    status = parse_head(b"sip/2.0 180 Ringing\r\nf: <sip:a@b>")
    assert (status.request, status.status, status.reason, status.version) == (False, 180, "Ringing", "SIP/2.0")
    assert parse_head(b"SIP/2.0 200").reason == ""


@pytest.mark.parametrize("line", [b"NOTIFY * HTTP/1.1", b"OPTIONS * RTSP/1.0", b"GET / HTTP/1.1", b"HTTP/1.1 200 OK",
                                  b"REGISTER sip:x SIP/2.0 extra", b"SIP/2.0 20 OK", b"", b"REGISTER  SIP/2.0"])
def test_what_is_no_sip_start_line(line: bytes) -> None:
    with pytest.raises(ParseError, match="not a SIP start line"):
        parse_head(line + b"\r\nCSeq: 1 OPTIONS")


def test_header_lines_and_list_items_are_bounded() -> None:
    many = b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS + 10))
    head = parse_head(b"SIP/2.0 200 OK\r\n" + many + b"Server: late")
    assert head.first("server") is None and len(head.headers) == MAX_HEADERS
    vias = b"".join(b"Via: SIP/2.0/UDP h%d\r\n" % i for i in range(MAX_LIST + 5))
    assert len(parse_head(b"SIP/2.0 200 OK\r\n" + vias).headers["via"]) == MAX_LIST


@pytest.mark.parametrize(("uri", "kept"), [
    ("sip:alice:pass@atlanta.com;transport=tcp", "alice@atlanta.com"),
    ("sips:%61lice@ATLANTA.com:5061", "alice@atlanta.com"),
    ("sip:atlanta.com", "atlanta.com"),
    ("sip:[2001:db8::10]:5070", "[2001:db8::10]"),
    ("tel:+1-201-555-0123;phone-context=x", "+1-201-555-0123"),
    ("sip:+12125551212@server.phone2net.com;user=phone", "+12125551212@server.phone2net.com"),
    ("mailto:alice@atlanta.com", None),
    ("no-colon", None),
])
def test_addresses_as_kept(uri: str, kept: str | None) -> None:
    """RFC 3261 §19.1.1 (a password in the userinfo is dropped), §19.1.3 examples, RFC 3966 tel: URIs."""
    assert address(uri) == kept


def test_name_addr_and_addr_spec() -> None:
    """RFC 3261 §20.10: a display name is read past; an addr-spec's parameters are the header's."""
    assert uri_of('"A, B" <sip:a@b;lr>;tag=1') == ("sip:a@b;lr", ";tag=1")
    assert uri_of("sip:a@b;tag=1") == ("sip:a@b", "tag=1")
    assert uri_of("<sip:unclosed@b") == ("sip:unclosed@b", "")
    assert request_uri("sip:100:pw@10.0.0.2:5060;transport=udp?subject=x") == "sip:100@10.0.0.2:5060"
    assert request_uri("tel:+358-555-1234567;postd=pp22") == "tel:+358-555-1234567"


def test_list_items_split_outside_quotes_and_angle_brackets() -> None:
    assert split_list('"a, b" <sip:x@y;p=1,2>;q=1, <sip:z@w>') == ['"a, b" <sip:x@y;p=1,2>;q=1', "<sip:z@w>"]
    assert split_list('"esc \\" ,", x') == ['"esc \\" ,"', "x"]
    assert len(split_list(",".join(["x"] * (MAX_LIST + 5)))) == MAX_LIST


def test_cseq_and_integers() -> None:
    assert cseq("314159 INVITE") == (314159, "INVITE") and cseq("1 register") == (1, "REGISTER")
    assert cseq("x INVITE") == (None, "INVITE") and cseq(None) == (None, None) and cseq("12345678901 A")[0] is None
    assert integer("3600") == 3600 and integer(" 0 ") == 0
    assert integer("-1") is None and integer("99999999999") is None and integer("70000", 65535) is None


def test_credentials_never_return_a_secret() -> None:
    """RFC 3261 §22.4 Digest credentials: the username and realm only; Basic (forbidden by §22.1): user-id only."""
    digest = 'Digest username="bob", realm="biloxi.com", nonce="dcd98b", uri="sip:bob@biloxi.com", response="245f23"'
    assert credentials(digest) == ("Digest", "bob", "biloxi.com")
    assert credentials("Basic Ym9iOnNlY3JldA==") == ("Basic", "bob", None)  # bob:secret
    assert credentials("Basic !!") == ("Basic", None, None) and credentials("Bearer x") == ("Bearer", None, None)
    assert challenge('Digest realm="atlanta.com", domain="sip:ss1.carrier.com", nonce="f84f1c"') == (
        "Digest", "atlanta.com", False)
    assert challenge("Digest") == ("Digest", None, False)


def test_a_challenge_says_when_only_the_nonce_had_expired() -> None:
    """RFC 7616 §3.3 (RFC 2617 §3.2.1): stale=TRUE, case-insensitive, says the credentials were right."""
    assert challenge('Digest realm="asterisk", nonce="1a2b", stale=TRUE, algorithm=MD5') == ("Digest", "asterisk", True)
    assert challenge('Digest realm="asterisk", nonce="1a2b", stale="true"')[2] is True
    assert challenge('Digest realm="asterisk", nonce="1a2b", stale=FALSE')[2] is False


def test_call_ids_are_digested() -> None:
    assert call_id_hash("a84b4c76e66710@pc33.atlanta.com") == call_id_hash("a84b4c76e66710@pc33.atlanta.com")
    assert call_id_hash("a") != call_id_hash("b") and call_id_hash(None) is None
    assert len(call_id_hash("x") or "") == 16


def test_hosts_and_address_literals() -> None:
    assert host_of("sip:b@10.0.0.3:5060;transport=tcp") == "10.0.0.3"
    assert host_of("sips:[2001:db8::1]:5061") == "2001:db8::1"
    assert host_of("tel:+1-201-555-0123") is None and host_of("sip:") is None
    assert is_ip("10.0.0.3") and is_ip("2001:db8::1") and not is_ip("callee.example.com") and not is_ip("")
