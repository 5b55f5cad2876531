"""A flow's first bytes read as HTTP (dissect/httpstart.py): any method's request line, nothing else's first line."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iotwarden.dissect.http import HttpDissector
from iotwarden.dissect.httpstart import may_start, probe
from iotwarden.lab import proto_tls
from tests.dissect.hostile import feed_chunks

# RFC 9110 §9.1: a method is a token of any length; WebDAV's (RFC 3253), GENA's, and a custom one
LONG_METHODS = [b"VERSION-CONTROL", b"BASELINE-CONTROL", b"MKWORKSPACE", b"UNSUBSCRIBE", b"M-SEARCH",
                b"X-CUSTOM-METHOD-OF-THIRTY-CHAR", b"Q" * 200]
# first lines of other protocols a flow on an HTTP port may carry: refused at once, so the engine offers the flow to
# their dissectors (an SSH client speaks first; RTSP's and SIP's request lines end in their own versions)
OTHERS = [b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n", b"SSH-2.0-PuTTY_Release_0.80\r\n",
          b"SSH-2.0-dropbear_2022.83\r\n", b"OPTIONS rtsp://cam/live RTSP/1.0\r\nCSeq: 1\r\n\r\n",
          b"REGISTER sip:pbx.example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.5\r\n\r\n",
          proto_tls.client_hello(random.Random(1), "cam.example.com")]


@pytest.mark.parametrize("method", LONG_METHODS)
def test_a_first_request_with_a_long_method_is_read_and_what_follows_too(method: bytes) -> None:
    # a first request line whose method was over 20 characters was 'not the start of an HTTP message': the engine
    # gave the flow up, and every request after it (a server answers 405 or 501 and reads on) went unseen
    data = method + b" /x HTTP/1.1\r\nHost: a\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n"
    obs = feed_chunks(HttpDissector(), [(True, data)])
    assert [(o.fields["method"], o.fields["uri"]) for o in obs] == [(method.decode(), "/x"), ("GET", "/admin")]


@pytest.mark.parametrize("method", LONG_METHODS)
def test_a_request_line_of_any_method_is_probed_as_http(method: bytes) -> None:
    # on a port no dissector names (a proxy's 3128, UPnP's 2869): the probe took only 3-10 capital letters
    assert probe(method + b" /x HTTP/1.1\r\nHost: a\r\n\r\n", True)
    assert may_start(method + b" /x HTTP/1.1\r\n")


@pytest.mark.parametrize("first", OTHERS)
def test_another_protocols_first_line_is_not_probed_as_http(first: bytes) -> None:
    assert not probe(first, True)


@pytest.mark.parametrize("first", [f for f in OTHERS if not f.startswith((b"OPTIONS", b"REGISTER"))])
def test_an_ssh_clients_or_tls_first_bytes_are_refused_on_an_http_port(first: bytes) -> None:
    # (RTSP's and SIP's lines begin as a request's would, and are refused at their version: the head's parse)
    assert not may_start(first)
    assert not may_start(first[:40])


def test_a_long_method_is_undecided_while_its_line_is_cut() -> None:
    line = b"X-CUSTOM-METHOD-OF-THIRTY-CHAR /a/b HTTP/1.1\r\n"
    assert all(may_start(line[:n]) for n in range(len(line) + 1))
    assert not may_start(b"X-CUSTOM-METHOD-OF-THIRTY-CHAR /a/b RTSP/1.0\r\n")


@given(method=st.text(alphabet="!#$%&'*+.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-",
                      min_size=1, max_size=300),
       target=st.binary(min_size=1, max_size=40).filter(lambda b: not any(c in b" \t\r\n\x0b\x0c" for c in b)))
def test_any_token_method_and_target_is_a_start_and_probed(method: str, target: bytes) -> None:
    line = method.encode() + b" " + target + b" HTTP/1.1\r\n"
    assert probe(line, True) and may_start(line)


@given(st.binary(max_size=200))
def test_bytes_without_an_http_version_are_not_probed(data: bytes) -> None:
    if b" HTTP/1." not in data and not data.startswith((b"GET ", b"HEAD ", b"POST ", b"PUT ", b"DELETE ", b"CONNECT ",
                                                          b"OPTIONS ", b"TRACE ", b"PATCH ", b"PROPFIND ", b"NOTIFY ",
                                                          b"SUBSCRIBE ", b"UNSUBSCRIBE ")):
        assert not probe(data, True)
