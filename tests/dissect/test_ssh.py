"""SSH dissector: banners and HASSH pinned to the suricata-verify ssh-* captures."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.base import Packet
from iotwarden.dissect.ssh import MAX_PRE_BANNER_LINES, SshDissector, parse_banner, parse_kexinit
from iotwarden.errors import ParseError
from iotwarden.model import Observation
from tests.conftest import shared
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks, mutate
from tests.pcaputil import iter_packets, run_dissector

SV = ("pcaps", "suricata_verify")


def _run(test: str) -> list[Observation]:
    errors: list[Exception] = []
    obs = run_dissector(SshDissector(), shared(*SV, test, "input.pcap"), errors=errors)
    assert errors == []
    return obs


def _by_role(obs: list[Observation], kind: str) -> dict[str, dict[str, Any]]:
    return {o.fields["role"]: o.fields for o in obs if o.kind == kind}


def test_banner_only_capture_gives_both_banners() -> None:
    banners = _by_role(_run("ssh-banner-only"), "banner")
    # ssh-banner-only/test.yaml
    assert banners["client"]["proto_version"] == "2.0" and banners["server"]["proto_version"] == "2.0"
    assert banners["client"]["software"] == "OpenSSH_for_Windows_7.7"
    assert banners["server"]["software"] == "OpenSSH_7.4"


@pytest.mark.parametrize("test", ["ssh-hassh", "ssh-hassh-only"])
def test_hassh_of_client_and_server(test: str) -> None:
    kex = _by_role(_run(test), "kexinit")
    # ssh-hassh/test.yaml and test.rules
    assert kex["client"]["hassh"] == "2dd6531c7e89d3c925db9214711be76a"
    assert kex["server"]["hassh_server"] == "6832f1ce43d4397c2c0a3e2f8c94334e"
    assert ("umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
            "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,"
            "hmac-sha2-256,hmac-sha2-512,hmac-sha1") in kex["client"]["hassh_string"]
    assert kex["server"]["hassh_server_string"].endswith("none,zlib@openssh.com")


def test_hassh_of_kexinit_split_over_segments() -> None:
    kex = _by_role(_run("ssh-hassh-reassembled"), "kexinit")
    # ssh-hassh-reassembled/test.yaml: a Cisco pair with identical lists
    assert kex["client"]["hassh"] == kex["server"]["hassh_server"] == "3cc67862bceac0f334c62ad1b76895b4"
    assert "diffie-hellman-group1-sha1" in kex["client"]["hassh_string"]


def test_hassh_regression_capture() -> None:
    kex = _by_role(_run("ssh-hassh-incomplete"), "kexinit")
    assert kex["client"]["hassh"] == "46c5bd9748882f1a5d75753fb7d47a61"  # ssh-hassh-incomplete/test.yaml


def test_server_speaking_first_keeps_roles_and_stops_after_both_kexinits() -> None:
    path = shared(*SV, "ssh-newkeys", "input.pcap")
    obs = _run("ssh-newkeys")
    assert _by_role(obs, "banner")["client"]["software"] == "libssh-0.7.2"  # ssh-frames/test.yaml
    assert [o.kind for o in obs].count("kexinit") == 2
    client = _by_role(obs, "kexinit")["client"]
    assert any("curve" in k for k in client["kex_algorithms"])  # ssh-frames sid 3
    state: dict[str, Any] = {}
    d = SshDissector()
    for pkt in iter_packets(path):
        if pkt.payload and not state.get("done"):
            d.feed(pkt, pkt.payload, state)
    assert state["done"] is True


def test_banner_with_comments() -> None:
    assert parse_banner("SSH-2.0-dropbear_2019.78 fw v1") == {
        "banner": "SSH-2.0-dropbear_2019.78 fw v1", "proto_version": "2.0", "software": "dropbear_2019.78",
        "comments": "fw v1"}


def test_lines_before_the_banner_are_skipped_up_to_a_limit() -> None:
    chunks = [(False, b"Welcome\r\nto the box\r\nSSH-2.0-dropbear\r\n")]
    (obs,) = feed_chunks(SshDissector(), chunks)
    assert obs.fields["software"] == "dropbear"
    state: dict[str, Any] = {}
    pkt = Packet(ts=0.0, payload=b"", to_server=False)
    with pytest.raises(ParseError):
        SshDissector().feed(pkt, b"noise\r\n" * (MAX_PRE_BANNER_LINES + 1), state)
    assert state["done"] is True
    state = {}
    with pytest.raises(ParseError):  # an identification line over 255 bytes, whole or in pieces
        SshDissector().feed(pkt, b"SSH-2.0-" + b"a" * 300 + b"\r\n", state)
    assert state["done"] is True


def test_truncated_kexinit_raises_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_kexinit(bytes([20]) + b"\x00" * 16 + b"\x00\x00\x00\x10abc", "client")


def test_probe() -> None:
    assert SshDissector().probe(b"SSH-2.0-OpenSSH_8.9\r\n", False)
    assert not SshDissector().probe(b"HTTP/1.1 200 OK\r\n", False)


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(SshDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=6))
def test_fuzz_random_bytes_after_banners(chunks: list[tuple[bool, bytes]]) -> None:
    feed_chunks(SshDissector(), [(True, b"SSH-2.0-a\r\n"), (False, b"SSH-2.0-b\r\n"), *chunks])


def _client_stream() -> bytes:
    path = shared(*SV, "ssh-hassh", "input.pcap")
    return b"".join(p.payload for p in iter_packets(path) if p.payload and p.to_server)[:2000]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8), st.integers(0, 2000))
def test_fuzz_mutated_client_stream(edits: list[tuple[int, int]], cut: int) -> None:
    feed_chunks(SshDissector(), [(True, mutate(_client_stream(), edits, cut))])
