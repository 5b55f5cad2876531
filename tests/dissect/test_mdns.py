"""The mDNS / DNS-SD dissector: the announced services, instances, hostnames and TXT keys."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect.mdns import MAX_DERIVED, MAX_TXT_KEYS, MAX_TXT_VALUES, MdnsDissector, service_type
from tests.conftest import shared
from tests.dissect.discovery import (
    CUTS,
    EDITS,
    TCPDUMP_CAPTURES,
    by_frame,
    contract_call,
    dns_msg,
    dns_name,
    dns_rr,
    mutate,
    single,
    udp,
)
from tests.pcaputil import run_dissector

D = MdnsDissector()
IMAC = "John’s iMac"
# The records suricata-verify's "mdns" test publishes for its frame 6 (its capture is not in the snapshot)
ANNOUNCEMENT = dns_msg(0, 0x8400, answers=[
    dns_rr(f"{IMAC}._device-info._tcp.local", 16, b"\x0emodel=iMac17,1\x0aosxvers=17", ttl=4500),
    dns_rr("_companion-link._tcp.local", 12, dns_name(f"{IMAC}._companion-link._tcp.local"), ttl=4500),
], additionals=[
    dns_rr(f"{IMAC}._companion-link._tcp.local", 33, b"\x00\x00\x00\x00\xc0\x00" + dns_name("Johns-iMac.local")),
    dns_rr("Johns-iMac.local", 1, bytes([192, 168, 1, 20]), rclass=0x8001),  # cache-flush bit set
])
# ... and its frame 11, a query
QUERY = dns_msg(0, 0, questions=[("_apple-mobdev._tcp.local", 12), ("92e80812._sub._apple-mobdev2._tcp.local", 12),
                                 ("_apple-pairable._tcp.local", 12)])


def test_an_announcement_gives_services_instances_hostnames_and_txt() -> None:
    obs = D.dissect(udp(ANNOUNCEMENT, 5353, 5353, dst_ip="224.0.0.251"), {})[0]
    assert obs.kind == "response" and obs.subject == "src"
    assert obs.fields["answers"][0]["name"] == f"{IMAC}._device-info._tcp.local"
    assert obs.fields["answers"][0]["data"] == ["model=iMac17,1", "osxvers=17"]
    assert obs.fields["answers"][1]["data"] == f"{IMAC}._companion-link._tcp.local"
    assert obs.fields["services"] == ["_device-info._tcp.local", "_companion-link._tcp.local"]
    assert obs.fields["instances"] == [f"{IMAC}._device-info._tcp.local", f"{IMAC}._companion-link._tcp.local"]
    assert obs.fields["hostnames"] == ["Johns-iMac.local"]
    assert obs.fields["txt"] == {"model": "iMac17,1", "osxvers": "17"}


def test_a_query_lists_its_questions_and_claims_nothing_about_the_sender() -> None:
    obs = D.dissect(udp(QUERY, 5353, 5353, dst_ip="224.0.0.251"), {})[0]
    assert obs.kind == "query"
    assert [(q["name"], q["type"]) for q in obs.fields["questions"]] == [
        ("_apple-mobdev._tcp.local", "PTR"), ("92e80812._sub._apple-mobdev2._tcp.local", "PTR"),
        ("_apple-pairable._tcp.local", "PTR")]
    assert obs.fields["services"] == [] and obs.fields["txt"] == {}


def test_known_answers_in_a_query_are_other_hosts_records_but_probes_are_the_senders() -> None:
    known = dns_rr("_ipp._tcp.local", 12, dns_name("Other printer._ipp._tcp.local"))
    probe = dns_rr("Mine._ipp._tcp.local", 33, b"\x00\x00\x00\x00\x02\x77" + dns_name("mine.local"))
    obs = D.dissect(udp(dns_msg(0, 0, questions=[("_ipp._tcp.local", 12)], answers=[known], authorities=[probe]),
                        5353, 5353), {})[0]
    assert obs.fields["instances"] == ["Mine._ipp._tcp.local"]
    assert obs.fields["hostnames"] == ["mine.local"]


@pytest.mark.parametrize(("name", "expected"), [
    ("_ipp._tcp.local", "_ipp._tcp.local"),
    ("My Printer._ipp._tcp.local", "_ipp._tcp.local"),
    ("_universal._sub._ipp._tcp.local", "_ipp._tcp.local"),
    ("_services._dns-sd._udp.local", None),
    ("host.local", None),
])
def test_service_types_follow_rfc6763_naming(name: str, expected: str | None) -> None:
    assert service_type(name) == expected


def test_derived_lists_stop_at_max_derived() -> None:
    ptrs = [dns_rr("_services._dns-sd._udp.local", 12, dns_name(f"_s{i}._tcp.local")) for i in range(MAX_DERIVED + 10)]
    obs = D.dissect(udp(dns_msg(0, 0x8400, answers=ptrs), 5353, 5353), {})[0]
    assert len(obs.fields["services"]) == MAX_DERIVED


def test_a_real_national_instruments_host_announces_its_service() -> None:
    # ITI ICS captures, S7Comm/wrapup.pcapng: frame 7 is VJTI-PC3's mDNS response
    obs = single(by_frame(D, shared("pcaps", "ics_iti", "pcaps", "s7", "S7Comm", "wrapup.pcapng")), 7)
    assert obs.kind == "response" and obs.src_ip == "192.168.0.16"
    assert obs.fields["services"] == ["_ni-logos._tcp.local"]
    assert obs.fields["instances"] == ["VJTI-PC3._ni-logos._tcp.local"]
    assert obs.fields["hostnames"] == ["VJTI-PC3.local"]


@pytest.mark.parametrize("capture", TCPDUMP_CAPTURES or ["absent"])
def test_every_tcpdump_capture_yields_observations_or_parse_errors(capture: str) -> None:
    assert all(o.proto == "mdns" for o in run_dissector(D, shared("pcaps", "tcpdump_tests", capture)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_honour_the_contract(data: bytes) -> None:
    contract_call(D, udp(data, 5353, 5353), {})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([ANNOUNCEMENT, QUERY]), EDITS, CUTS)
def test_mutated_messages_honour_the_contract(seed: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    contract_call(D, udp(mutate(seed, edits, cut), 5353, 5353), {})


def test_merged_txt_keys_stop_at_the_limit_and_keep_the_first_value() -> None:
    def strings(keys: range) -> bytes:
        return b"".join(bytes([len(p)]) + p for p in (b"k%d=v" % i for i in keys))

    first = dns_rr("Cam._http._tcp.local", 16, b"\x07path=/a\x07PATH=/b" + strings(range(40)))
    second = dns_rr("Cam._rtsp._tcp.local", 16, strings(range(40, 80)))
    txt = D.dissect(udp(dns_msg(0, 0x8400, answers=[first, second]), 5353, 5353), {})[0].fields["txt"]
    assert len(txt) == MAX_TXT_KEYS and txt["path"] == "/a"  # keys are case-insensitive, first in a record wins (§6.4)


# A HomePod's RAOP TXT (vn: the AirPlay version) and its Thread MeshCoP TXT (vn: the maker, Thread 1.3 §8.4.4)
RAOP_TXT = dns_rr("AABBCCDDEEFF@Living Room._raop._tcp.local", 16, b"\x06tp=UDP\x08vn=65537")
MESHCOP_TXT = dns_rr("HomePod._meshcop._udp.local", 16, b"\x0dvn=Apple Inc.\x0amn=HomePod")


@pytest.mark.parametrize(("records", "values"), [((RAOP_TXT, MESHCOP_TXT), ["65537", "Apple Inc."]),
                                                 ((MESHCOP_TXT, RAOP_TXT), ["Apple Inc.", "65537"])],
                         ids=["raop_first", "meshcop_first"])
def test_a_key_two_services_state_differently_keeps_both_values(records: tuple[bytes, ...],
                                                                 values: list[str]) -> None:
    txt = D.dissect(udp(dns_msg(0, 0x8400, answers=records), 5353, 5353), {})[0].fields["txt"]
    assert txt == {"tp": "UDP", "vn": values, "mn": "HomePod"}  # in the order the records came (RFC 6763 §6)


def test_a_value_repeated_by_another_record_is_kept_once() -> None:
    # the same record in answers and additionals, and a second service with the same "txtvers=1"
    again = dns_rr("Printer._ipp._tcp.local", 16, b"\x09txtvers=1\x08ty=Laser")
    other = dns_rr("Printer._http._tcp.local", 16, b"\x09txtvers=1")
    txt = D.dissect(udp(dns_msg(0, 0x8400, answers=[again, other], additionals=[again]), 5353, 5353),
                    {})[0].fields["txt"]
    assert txt == {"txtvers": "1", "ty": "Laser"}


def test_the_values_of_one_key_stop_at_the_limit() -> None:
    def rdata(i: int) -> bytes:
        value = b"vn=%d" % i
        return bytes([len(value)]) + value + b"\x03k=v"

    records = [dns_rr(f"S{i}._x{i}._tcp.local", 16, rdata(i)) for i in range(MAX_TXT_VALUES + 5)]
    txt = D.dissect(udp(dns_msg(0, 0x8400, answers=records), 5353, 5353), {})[0].fields["txt"]
    assert txt["vn"] == [str(i) for i in range(MAX_TXT_VALUES)] and txt["k"] == "v"

