"""The compiled knowledge base: matcher semantics per match type, evidence records (the index file's
staleness: tests/kb/test_compiled.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dpkt
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import ConfigError
from iotwarden.kb import index
from iotwarden.kb.index import KnowledgeBase, Match
from iotwarden.kb.schema import RuleValidator, load_attributes
from iotwarden.kb.taxonomy import Taxonomy
from tests.conftest import shared
from tests.pcaputil import iter_packets


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(refresh=True, user_rules=Path("/nonexistent"))


def build(*rules: dict[str, Any]) -> KnowledgeBase:
    """A knowledge base of just ``rules`` (rule-file mappings)."""
    attributes, taxonomy = load_attributes(), Taxonomy.load()
    validator = RuleValidator(attributes, taxonomy)
    return KnowledgeBase([validator.rule(r, "test.yaml", i) for i, r in enumerate(rules)], attributes, taxonomy)


def r(rid: str, attribute: str | list[str], how: str, value: Any, *, weight: float = 0.5,
      conclusions: dict[str, str] | None = None, **match: Any) -> dict[str, Any]:
    return {"id": rid, "match": {"attribute": attribute, how: value, **match},
            "conclusions": conclusions or {"vendor": rid}, "weight": weight, "reference": "test"}


def ids(matches: list[Match]) -> list[str]:
    return [m.rule_id for m in matches]


# ---- matcher semantics, one match type at a time ----

def test_exact_is_case_sensitive_unless_asked() -> None:
    kb = build(r("cs", "dhcp.vendor_class", "exact", "MSFT 5.0"),
               r("ci", "dhcp.vendor_class", "exact", "ccp.avaya.com", ignore_case=True))
    assert ids(kb.match("dhcp.vendor_class", "MSFT 5.0")) == ["cs"]
    assert kb.match("dhcp.vendor_class", "msft 5.0") == []
    assert ids(kb.match("dhcp.vendor_class", "CCP.Avaya.COM")) == ["ci"]


def test_exact_list_of_values() -> None:
    kb = build(r("many", "mdns.txt", "exact", ["ci=7", "ci=8"]))
    assert ids(kb.match("mdns.txt", "ci=8")) == ["many"]
    assert kb.match("mdns.txt", "ci=9") == []


def test_prefix_and_suffix() -> None:
    kb = build(r("pre", "dhcp.vendor_class", "prefix", "PXEClient"),
               r("suf", "http.server", "suffix", "(Ubuntu)"))
    assert ids(kb.match("dhcp.vendor_class", "PXEClient:Arch:00000:UNDI:002001")) == ["pre"]
    assert kb.match("dhcp.vendor_class", "xPXEClient") == []
    assert ids(kb.match("http.server", "Apache/2.4.52 (Ubuntu)")) == ["suf"]


def test_contains_with_ignore_case() -> None:
    kb = build(r("poly", "dhcp.vendor_class", "contains", "polycom", ignore_case=True))
    assert ids(kb.match("dhcp.vendor_class", "Polycom-VVX411")) == ["poly"]


def test_regex_groups_fill_conclusions() -> None:
    kb = build(r("android", "dhcp.vendor_class", "regex", r"^android-dhcp-(\d+(?:\.\d+)*)(-(?P<x>\w+))?",
                 conclusions={"os": "Android", "os_version": "{1}", "model": "{x}"}))
    (m,) = kb.match("dhcp.vendor_class", "android-dhcp-9")
    assert dict(m.conclusions) == {"os": "Android", "os_version": "9"}  # the unmatched {x} is dropped
    (m,) = kb.match("dhcp.vendor_class", "android-dhcp-10-abc")
    assert m.conclusions["model"] == "abc" and m.value == "android-dhcp-10-abc"


def test_domain_matches_the_name_and_subdomains_only() -> None:
    kb = build(r("ring", ["tls.sni", "dns.qname"], "domain", "ring.com"))
    assert ids(kb.match("tls.sni", "ring.com")) == ["ring"]
    assert ids(kb.match("tls.sni", "FW.Ring.com.")) == ["ring"]
    assert kb.match("tls.sni", "notring.com") == []
    assert kb.match("tls.sni", "ring.com.evil.example") == []
    (m,) = kb.match("dns.qname", "api.ring.com")  # the same rule applies to DNS query names
    assert m.attribute == "dns.qname"


def test_oid_prefix_matches_whole_arcs() -> None:
    kb = build(r("cisco", "snmp.sys_object_id", "prefix", "1.3.6.1.4.1.9"),
               r("exact", "snmp.sys_object_id", "exact", "1.3.6.1.4.1.9.1.516"))
    assert ids(kb.match("snmp.sys_object_id", "1.3.6.1.4.1.9.1.516")) == ["cisco", "exact"]
    assert ids(kb.match("snmp.sys_object_id", ".1.3.6.1.4.1.9")) == ["cisco"]
    assert kb.match("snmp.sys_object_id", "1.3.6.1.4.1.99.1") == []  # enterprise 99, not 9


def test_option_55_exact_order_versus_set_equal() -> None:
    kb = build(r("order", "dhcp.param_req_list", "exact", [1, 3, 6, 15]),
               r("anyorder", "dhcp.param_req_list", "set_equal", [15, 6, 3, 1]),
               r("head", "dhcp.param_req_list", "prefix", "1,3,"))
    assert sorted(ids(kb.match("dhcp.param_req_list", [1, 3, 6, 15]))) == ["anyorder", "head", "order"]
    assert sorted(ids(kb.match("dhcp.param_req_list", "[6, 1, 3, 15]"))) == ["anyorder"]
    assert ids(kb.match("dhcp.param_req_list", [1, 3, 6])) == ["head"]  # prefix by whole items
    assert kb.match("dhcp.param_req_list", [1, 32, 6]) == []  # "1,3" is not a prefix of "1,32"
    assert kb.match("dhcp.param_req_list", [1, 6, 3]) == []
    assert kb.match("dhcp.param_req_list", ["x"]) == []  # not integers: no evidence, no crash


def test_integer_identifiers() -> None:
    kb = build(r("jci", "bacnet.vendor_id", "exact", 5))
    assert ids(kb.match("bacnet.vendor_id", 5)) == ["jci"]
    assert ids(kb.match("bacnet.vendor_id", "5")) == ["jci"]
    assert kb.match("bacnet.vendor_id", 50) == []


def test_p0f_signatures() -> None:
    kb = build(r("linux", "tcp.syn_signature", "p0f", "*:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0"))
    assert ids(kb.match("tcp.syn_signature", "4:57:0:1460:29200,10:mss,sok,ts,nop,ws:df,id+:0")) == ["linux"]
    assert kb.match("tcp.syn_signature", "4:57:0:1460:65535,10:mss,sok,ts,nop,ws:df,id+:0") == []
    assert kb.match("tcp.syn_signature", "garbage") == []


def test_dict_values_are_matched_as_key_value_strings() -> None:
    kb = build(r("model", "mdns.txt", "regex", "^model=(.+)$", conclusions={"model": "{1}"}))
    (m,) = kb.match("mdns.txt", {"model": "MacBookPro18,3", "osxvers": "21"})
    assert m.conclusions["model"] == "MacBookPro18,3"
    # a key several services state differently (mDNS TXT, dissect/mdns.py): each of its values is matched
    found = kb.match("mdns.txt", {"vn": "65537", "model": ["MacBookPro18,3", "AudioAccessory5,1"]})
    assert sorted(m.conclusions["model"] for m in found) == ["AudioAccessory5,1", "MacBookPro18,3"]


def test_results_sorted_by_weight_and_carry_the_evidence() -> None:
    kb = build(r("low", "http.server", "prefix", "Boa", weight=0.2),
               r("high", "http.server", "regex", r"^Boa/(\S+)", weight=0.7, conclusions={"firmware": "{1}"}))
    first, second = kb.match("http.server", "Boa/0.94.14rc21")
    assert (first.rule_id, first.weight, first.reference, first.file) == ("high", 0.7, "test", "test.yaml")
    assert second.rule_id == "low"
    with pytest.raises(TypeError):
        first.conclusions["firmware"] = "x"  # type: ignore[index]
    assert first.to_dict()["conclusions"] == {"firmware": "0.94.14rc21"}


def test_values_per_call_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    kb = build(r("any", "mdns.services", "regex", "^_ipp"))
    monkeypatch.setattr(index, "MAX_VALUES_PER_CALL", 3)
    hits = kb.match("mdns.services", [f"_ipp._tcp.local.{i}" for i in range(10)])
    assert len(hits) == 3


def test_an_attribute_s_regexes_are_compiled_once_at_its_first_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading compiles no rule regex (start-up cost); the first lookup of an attribute compiles its own
    regexes once, in rule order, and no other attribute's; later lookups compile nothing."""
    kb = build(r("boa", "http.server", "regex", r"^Boa/(\S+)", conclusions={"firmware": "{1}"}),
               r("boa2", "http.server", "regex", [r"^boa", r"^x"], ignore_case=True),
               r("ipp", "mdns.services", "regex", "^_ipp"),
               {**r("txt", "mdns.services", "exact", "_x._tcp.local"),
                "requires": [{"attribute": "mdns.txt", "regex": "^md=a"}]})
    compiled: list[str] = []
    real = index.re.compile

    def counting(pattern: str, flags: int = 0) -> Any:
        compiled.append(pattern)
        return real(pattern, flags)

    monkeypatch.setattr(index.re, "compile", counting)
    assert compiled == []
    assert ids(kb.match("http.server", "Boa/0.94")) == ["boa", "boa2"]
    assert compiled == [r"^Boa/(\S+)", "^boa", "^x"]
    assert ids(kb.match("http.server", "BOA/1")) == ["boa2"] and ids(kb.match("http.server", "xyz")) == ["boa2"]
    assert len(compiled) == 3
    device = {"mdns.services": ["_x._tcp.local", "_ipp._tcp.local"], "mdns.txt": [{"md": "a1"}]}
    assert sorted(ids(kb.match_device(device))) == ["ipp", "txt"]
    assert compiled[3:] == ["^_ipp", "^md=a"]
    kb.match_device(device)
    assert len(compiled) == 5


def test_matches_of_a_value_are_remembered_up_to_the_memo_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The classifier asks about the same values at every pass: the second answer is the first's
    records, a rule with ``requires`` is still judged per device, and a full memo starts again."""
    kb = build(r("boa", "http.server", "regex", r"^Boa/(\S+)", conclusions={"firmware": "{1}"}),
               {**r("yale", "dhcp.hostname", "exact", "connect", ignore_case=True),
                "requires": [{"attribute": "mac.address", "prefix": "D86162"}]})
    first = kb.match("http.server", "Boa/0.94")
    again = kb.match("http.server", "Boa/0.94")
    assert again == first and again[0] is first[0] and again[0].conclusions == {"firmware": "0.94"}
    assert ids(kb.match_device({"dhcp.hostname": {"connect"}}, mac="d8:61:62:00:00:01")) == ["yale"]
    assert kb.match_device({"dhcp.hostname": {"connect"}}, mac="00:17:7a:00:00:01") == []  # same text, other device
    assert kb.match("dhcp.hostname", "connect") == []
    monkeypatch.setattr(index, "MAX_MATCH_MEMO", 2)
    for n in range(5):
        assert ids(kb.match("http.server", f"Boa/{n}")) == ["boa"]
        assert len(kb._memo) <= 2
    assert kb.match("http.server", "Boa/0.94")[0].conclusions == {"firmware": "0.94"}  # computed again, same


def test_required_conditions_hold_on_the_whole_device() -> None:
    """A rule with ``requires`` is evidence only when the device has a value for each condition."""
    kb = build({**r("yale", "dhcp.hostname", "exact", "connect", ignore_case=True),
                "requires": [{"attribute": "mac.address", "prefix": "D86162"}]},
               {**r("txt", "mdns.services", "exact", "_x._tcp.local"),
                "requires": [{"attribute": "mdns.txt", "regex": "^md=a"},
                             {"attribute": "mdns.instances", "prefix": "n"}]})
    assert ids(kb.match_device({"dhcp.hostname": {"Connect"}}, mac="d8:61:62:00:00:01")) == ["yale"]
    assert kb.match_device({"dhcp.hostname": {"connect"}}, mac="00:17:7a:00:00:01") == []  # other block
    assert kb.match_device({"dhcp.hostname": {"connect"}}) == []  # no MAC known: the condition is unmet
    assert kb.match_device({"dhcp.hostname": {"connect"}}, mac="da:61:62:00:00:01") == []  # locally administered
    assert kb.match("dhcp.hostname", "connect") == []  # one value alone cannot meet the conditions
    device = {"mdns.services": ["_x._tcp.local"], "mdns.txt": [{"md": "a1"}], "mdns.instances": ["n1._x._tcp.local"]}
    assert ids(kb.match_device(device)) == ["txt"]
    assert kb.match_device({**device, "mdns.txt": [{"md": "b"}]}) == []
    assert kb.match_device({**device, "mdns.instances": []}) == []


def test_a_mac_prefix_rule_matches_the_globally_administered_address() -> None:
    kb = build(r("block", "mac.address", "prefix", "70886B1"))
    assert ids(kb.match_device({}, mac="70:88:6b:12:34:56")) == ["block"]
    assert kb.match_device({}, mac="70:88:6b:22:34:56") == []


def test_unknown_attribute_and_none_give_no_evidence(kb: KnowledgeBase) -> None:
    assert kb.match("no.such", "x") == []
    assert kb.match("dhcp.vendor_class", None) == []


# ---- the shipped knowledge ----

@pytest.mark.parametrize(("attribute", "value", "expect"), [
    ("dhcp.vendor_class", "MSFT 5.0", {"os": "Windows"}),
    ("dhcp.vendor_class", "android-dhcp-9", {"os": "Android", "os_version": "9", "device_type": "mobile_phone"}),
    ("dhcp.param_req_list", [1, 3, 28, 6], {"device_type": "iot_module"}),
    ("dhcp.hostname", "BRN001BA9123456", {"vendor": "Brother", "device_type": "printer"}),
    ("mdns.services", "_axis-video._tcp.local", {"device_type": "camera"}),
    ("ssdp.server", "Linux/3.14.0 UPnP/1.0 IpBridge/1.26.0", {"vendor": "Philips Hue", "firmware": "1.26.0"}),
    ("http.server", "Hikvision-Webs", {"vendor": "Hikvision", "device_type": "camera"}),
    ("tls.sni", "fw.ring.com", {"vendor": "Ring"}),
    ("ssh.banner", "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1", {"os_version": "Ubuntu 22.04"}),
    ("snmp.sys_object_id", "1.3.6.1.4.1.11.2.3.9.1.2", {"device_type": "printer"}),
    ("snmp.sys_descr", "Siemens, SIMATIC S7, CPU-1200, 6ES7 212-1BE40-0XB0, HW: 1, FW: V.4.2.3",
     {"model": "CPU-1200", "device_type": "plc"}),
    ("bacnet.vendor_id", 24, {"vendor": "Automated Logic", "category": "building"}),
    ("enip.vendor_id", 1, {"vendor": "Rockwell Automation", "category": "ot"}),
    ("enip.product_name", "1756-L61/B LOGIX5561", {"model": "ControlLogix 1756-L61"}),
    ("s7comm.module_order_number", "6ES7 315-2EH14-0AB0", {"model": "SIMATIC S7-300", "vendor": "Siemens"}),
    ("s7comm.module_order_number", "6ES7 214-1AG40-0XB0", {"model": "SIMATIC S7-1200"}),
    ("modbus.product_code", "BMX P34 2020", {"model": "Modicon M340"}),
    ("mac.oui_vendor", "Yealink", {"device_type": "voip_phone"}),
])
def test_shipped_rules(kb: KnowledgeBase, attribute: str, value: Any, expect: dict[str, str]) -> None:
    merged: dict[str, str] = {}
    for m in reversed(kb.match(attribute, value)):  # strongest evidence last, so it wins here
        merged.update(m.conclusions)
    assert expect.items() <= merged.items()


def test_match_device_adds_the_mac_vendor_and_deduplicates(kb: KnowledgeBase) -> None:
    evidence = kb.match_device({"dhcp.hostname": {"axis-00408c123456"}, "mdns.services": ["_axis-video._tcp.local"],
                                "unknown.attr": {"x"}}, mac="00:40:8c:12:34:56")
    assert {m.rule_id for m in evidence} == {"dhcp.hostname.axis", "mdns.service.axis_video", "mac.vendor.axis"}
    assert len(evidence) == 3
    assert evidence[0].weight >= evidence[-1].weight
    randomised = kb.match_device({}, mac="da:a1:19:00:00:01")
    assert randomised == []  # a private address names no vendor


def test_windows_dhcp_request_of_suricata_verify_is_windows(kb: KnowledgeBase) -> None:
    """suricata-verify dhcp-eve-extended-option-60 publishes vendor_class_identifier 'MSFT 5.0'."""
    folder = shared("pcaps", "suricata_verify", "dhcp-eve-extended-option-60")
    published = yaml.safe_load((folder / "test.yaml").read_text())["checks"][0]["filter"]["match"]
    attributes: dict[str, set[str]] = {}
    for pkt in iter_packets(folder / "input.pcap"):
        if pkt.dst_port != 67:
            continue
        msg = dpkt.dhcp.DHCP(pkt.payload)
        opts = dict(msg.opts)
        attributes.setdefault("dhcp.vendor_class", set()).add(opts[dpkt.dhcp.DHCP_OPT_VENDOR_ID].decode())
        prl = opts[dpkt.dhcp.DHCP_OPT_PARAM_REQ]
        attributes.setdefault("dhcp.param_req_list", set()).add(",".join(str(b) for b in prl))
    assert attributes["dhcp.vendor_class"] == {published["dhcp.vendor_class_identifier"]}
    conclusions = {k: v for m in kb.match_device(attributes) for k, v in m.conclusions.items()}
    assert conclusions["os"] == "Windows"
    assert "vendor" not in conclusions  # Windows runs on every PC maker's hardware: the OUI names the vendor


@pytest.mark.parametrize(("capture", "vendor", "device_type"), [
    ("blink-cam-01.pcap", "Blink", "camera"),
    ("schlage-lock-01.pcap", "Schlage", "door_lock"),
    ("sifely-hub-01.pcap", "Sciener (TTLock)", "door_lock"),
])
def test_labelled_iot_captures_resolve_their_cloud(kb: KnowledgeBase, capture: str, vendor: str,
                                                   device_type: str) -> None:
    """tj-oconnor/IoT-Dataset: each capture is one labelled device; its DNS queries name its cloud."""
    path = shared("pcaps", "labeled_locks_cams", "pcaps", capture)
    names: set[str] = set()
    for pkt in iter_packets(path):
        if pkt.ip_proto == 17 and pkt.dst_port == 53:
            try:
                names.update(q.name for q in dpkt.dns.DNS(pkt.payload).qd)
            except (dpkt.UnpackError, IndexError):
                continue
    evidence = kb.match_device({"dns.qname": names})
    assert any(m.conclusions.get("vendor") == vendor and m.conclusions.get("device_type") == device_type
               for m in evidence)


def test_user_rule_files_are_added(tmp_path: Path) -> None:
    badge = r("site.badge", "dhcp.hostname", "prefix", "BADGE-", conclusions={"device_type": "badge_reader"})
    mine = {"rules": [badge]}
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(mine))
    kb = KnowledgeBase.load(user_rules=tmp_path)
    (m,) = kb.match("dhcp.hostname", "BADGE-0042")
    assert m.conclusions["category"] == "building"
    clash = {"rules": [r("dhcp.vendor_class.msft", "dhcp.hostname", "exact", "x")]}
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(clash))
    with pytest.raises(ConfigError, match="duplicates a shipped rule"):
        KnowledgeBase.load(user_rules=tmp_path)


def test_load_is_cached_and_fast() -> None:
    first = KnowledgeBase.load(refresh=True)
    assert KnowledgeBase.load() is first
    assert first.rule("dhcp.vendor_class.msft") is not None


ATTRIBUTES = sorted(load_attributes())
VALUES = st.one_of(st.text(max_size=50), st.integers(), st.lists(st.integers(min_value=-5, max_value=300), max_size=20),
                   st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4), st.none(),
                   st.lists(st.text(max_size=10), max_size=5))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ATTRIBUTES), VALUES)
def test_match_contract(attribute: str, value: Any) -> None:
    kb = KnowledgeBase.load()
    for m in kb.match(attribute, value):
        assert 0 <= m.weight <= 1 and m.conclusions and m.reference


def test_repeated_lookups_are_remembered_and_the_memo_stays_bounded(kb: KnowledgeBase,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A text is matched against the index once and remembered (the same answer object served again), and the
    memo never outgrows MAX_MATCH_MEMO (lookup speed itself is bench/kb_lookup.py's, not a wall-clock test)."""
    first = kb.match("tls.sni", "host1.ring.com")
    assert first == kb.match("tls.sni", "host1.ring.com")
    assert kb._text_matches("tls.sni", kb._index["tls.sni"], "host1.ring.com") is \
        kb._text_matches("tls.sni", kb._index["tls.sni"], "host1.ring.com")
    monkeypatch.setattr(index, "MAX_MATCH_MEMO", 100)
    for i in range(2_000):
        kb.match("dhcp.vendor_class", f"MSFT 5.{i}")
        kb.match("tls.sni", f"host{i}.ring.com")
        kb.match("snmp.sys_object_id", f"1.3.6.1.4.1.9.1.{i}")
        kb.match("http.server", f"Boa/0.{i}")
        assert len(kb._memo) <= 100


def test_no_shipped_regex_escapes_a_backslash() -> None:
    # a YAML single-quoted string keeps backslashes as written: '\\.' there is the regex \\. (a backslash, then
    # any character), which no DNS name or header ever holds; twelve cloud rules once never matched that way
    kb = KnowledgeBase.load()
    doubled = [r.id for r in kb.rules if r.how == "regex" and any("\\\\" in v for v in r.values)]
    assert doubled == []


@pytest.mark.parametrize(("attribute", "value", "rule_id"), [
    ("dns.qname", "v2.broker.lifx.co", "tls.sni.lifx"),
    ("tls.sni", "api.awair.is", "tls.sni.awair"),
    ("dns.qname", "time.apple.com", "tls.sni.apple_time"),
    ("dns.qname", "device-metrics-us.amazon.com", "tls.sni.amazon_devices"),
])
def test_cloud_names_match_their_rules(attribute: str, value: str, rule_id: str) -> None:
    assert rule_id in {m.rule_id for m in KnowledgeBase.load().match(attribute, value)}
