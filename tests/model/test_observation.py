"""Observation: the subject decides whose fact it is; records round-trip and keep unknown fields; a dict
field reads as key=value texts."""

from __future__ import annotations

from iotwarden.model import Observation
from iotwarden.model.observation import MAX_TEXT_LEN, key_value_texts, link_domain, scoped


def test_subject_selects_the_endpoint_the_fact_is_about() -> None:
    obs = Observation(ts=1.0, proto="telnet", kind="login_attempt", src_mac="aa:aa:aa:aa:aa:aa",
                      dst_mac="bb:bb:bb:bb:bb:bb", src_ip="10.0.0.1", dst_ip="10.0.0.2", subject="dst")
    assert (obs.subject_mac, obs.subject_ip, obs.peer_ip) == ("bb:bb:bb:bb:bb:bb", "10.0.0.2", "10.0.0.1")


def test_round_trip_and_unknown_fields_survive() -> None:
    obs = Observation(ts=2.5, proto="dhcp", kind="request", src_ip="10.0.0.9", fields={"hostname": "cam"})
    data = obs.to_dict()
    assert Observation.from_dict(data) == obs
    data["sensor"] = "site-2"
    again = Observation.from_dict(data)
    assert again.fields["_extra"] == {"sensor": "site-2"}
    assert again.fields["hostname"] == "cam"


def test_a_dict_field_reads_as_one_text_per_value() -> None:
    # mDNS TXT: a key two services of one message state differently holds both values (dissect/mdns.py)
    txt = {"tp": "UDP", "vn": ["65537", "Apple Inc."], "flag": ""}
    assert key_value_texts(txt.items()) == ["tp=UDP", "vn=65537", "vn=Apple Inc.", "flag="]



def test_a_key_value_text_is_cut_to_the_attribute_bound() -> None:
    # a TXT string decoded with backslash escapes (\\xNN) can outgrow its 255 wire bytes
    long = "\\x00" * 100
    texts = key_value_texts({"md": long, "vn": [long, "short"]}.items())
    assert [len(t) for t in texts] == [MAX_TEXT_LEN, MAX_TEXT_LEN, len("vn=short")]
    assert texts[0] == f"md={long}"[:MAX_TEXT_LEN]


def test_the_broadcast_domain_names_vnis_and_vlan() -> None:
    obs = Observation(ts=1.0, proto="arp", kind="reply")
    assert obs.domain == "" and "vni" not in obs.to_dict()
    obs.vlan = 10
    assert obs.domain == "vlan10" == link_domain(10, None)
    obs.vni = (4001, 1)
    assert obs.domain == "vni4001/vni1/vlan10"
    assert link_domain(None, (0,)) == "vni0"  # VNI 0 is a network, not "no tunnel"
    assert scoped("10.0.0.5", obs.domain) == "10.0.0.5%vni4001/vni1/vlan10" and scoped("10.0.0.5", "") == "10.0.0.5"


def test_vnis_round_trip() -> None:
    obs = Observation(ts=2.5, proto="dhcp", kind="offer", vlan=20, vni=(4001,))
    data = obs.to_dict()
    assert data["vni"] == [4001]
    assert Observation.from_dict(data) == obs
