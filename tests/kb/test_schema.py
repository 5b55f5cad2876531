"""Rule files: the shipped ones validate, and every mistake is named by file, rule id and key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from iotwarden.errors import ConfigError
from iotwarden.kb import paths, schema
from iotwarden.kb.schema import RuleValidator, canonical_list, load_attributes, rule_files, set_key
from iotwarden.kb.taxonomy import Taxonomy

# the field vocabulary the dissector briefs fix (notes h2/h3/h4) and the kb brief names
DISSECTOR_FIELDS = {
    "dhcp.param_req_list", "dhcp.vendor_class", "dhcp.hostname", "mdns.services", "mdns.txt", "ssdp.server",
    "http.user_agent", "http.server", "tls.sni", "tls.ja4", "ssh.software", "snmp.sys_descr",
    "snmp.sys_object_id", "modbus.vendor_name", "bacnet.vendor_id", "enip.vendor_id", "enip.product_name",
    "s7comm.module_order_number", "mac.oui_vendor",
}


@pytest.fixture(scope="module")
def validator() -> RuleValidator:
    return RuleValidator(load_attributes(), Taxonomy.load())


def rule(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "test.rule",
        "match": {"attribute": "dhcp.vendor_class", "exact": "MSFT 5.0"},
        "conclusions": {"os": "Windows"},
        "weight": 0.5,
        "reference": "RFC 2132 §9.13",
    }
    base.update(overrides)
    return base


def test_every_shipped_rule_file_validates(validator: RuleValidator) -> None:
    rules = validator.load_files(rule_files())
    assert len(rules) > 300
    files = {r.file for r in rules}
    assert {"dhcp.yaml", "mdns.yaml", "ssdp.yaml", "http.yaml", "tls.yaml", "banners.yaml", "snmp.yaml",
            "ot.yaml", "mac.yaml"} <= files


def test_every_device_type_concluded_exists_in_the_taxonomy(validator: RuleValidator) -> None:
    taxonomy = validator.taxonomy
    for r in validator.load_files(rule_files()):
        if "device_type" in r.conclusions:
            assert taxonomy.get(r.conclusions["device_type"]) is not None, r.id
            # the category follows from the type unless the rule says otherwise
            assert r.conclusions["category"] in schema.CATEGORIES, r.id


def test_vocabulary_covers_the_dissector_field_names() -> None:
    assert set(load_attributes()) >= DISSECTOR_FIELDS


def test_each_attribute_cites_its_source() -> None:
    for attr in load_attributes().values():
        assert attr.source, attr.name


@pytest.mark.parametrize(("change", "message"), [
    ({"match": {"attribute": "dhcp.vendorclass", "exact": "x"}}, "key 'match.attribute': unknown attribute"),
    ({"match": {"attribute": "dhcp.vendor_class", "exact": "x", "prefix": "y"}}, "key 'match': exactly one"),
    ({"match": {"attribute": "bacnet.vendor_id", "prefix": "1"}}, "key 'match.prefix': not allowed on a int"),
    ({"match": {"attribute": "bacnet.vendor_id", "exact": "five"}}, "is not an integer"),
    ({"match": {"attribute": "dhcp.vendor_class", "regex": "(["}}, "key 'match.regex': bad regex"),
    ({"match": {"attribute": "dhcp.vendor_class", "exact": "x", "fuzzy": 1}}, "key 'match.fuzzy': unknown"),
    ({"match": {"attribute": "snmp.sys_object_id", "prefix": "1.3.6.x"}}, "not a dotted OID"),
    ({"match": {"attribute": "tcp.syn_signature", "p0f": "4:64"}}, "key 'match.p0f'"),
    ({"match": {"attribute": "dhcp.param_req_list", "exact": ["a", "b"]}}, "not a list of integers"),
    ({"weight": 1.5}, "key 'weight'"),
    ({"weight": True}, "key 'weight'"),
    ({"reference": " "}, "key 'reference'"),
    ({"conclusions": {}}, "key 'conclusions'"),
    ({"conclusions": {"colour": "red"}}, "key 'conclusions.colour': unknown"),
    ({"conclusions": {"device_type": "toaster"}}, "key 'conclusions.device_type': 'toaster' is not in taxonomy"),
    ({"conclusions": {"category": "kitchen"}}, "key 'conclusions.category'"),
    ({"conclusions": {"os_version": "{1}"}}, "refers to regex group {1}"),
    ({"id": "Bad Id"}, "key 'id'"),
    ({"extra": 1}, "key 'extra': unknown key"),
    ({"match": {"attribute": ["tls.sni", "dhcp.vendor_class"], "exact": "x"}}, "same type"),
    ({"requires": []}, "key 'requires': a list of 1 to"),
    ({"requires": {"attribute": "mac.address", "prefix": "00"}}, "key 'requires': a list"),
    ({"requires": [{"attribute": "mac.adress", "prefix": "00"}]}, "key 'requires[0].attribute': unknown attribute"),
    ({"requires": [{"attribute": "mac.address", "prefix": ""}]}, "key 'requires[0].prefix'"),
    ({"requires": [{"attribute": "mac.address", "regex": "(["}]}, "key 'requires[0].regex': bad regex"),
    ({"requires": [{"attribute": "mac.address", "prefix": "00"}] * 9}, "MAX_REQUIRES"),
    ({"match": {"attribute": "dhcp.vendor_class", "exact": "x"}, "conclusions": {"model": "{1}"},
      "requires": [{"attribute": "dhcp.hostname", "regex": "^(x)"}]}, "refers to regex group {1}"),
    ({"behaviour": "scanning"}, "key 'behaviour': one of app_reachable, it_system, ot_connection, ot_operation"),
    ({"behaviour": ["ot_operation"]}, "key 'behaviour': one of"),
    ({"behaviour": None}, "key 'behaviour': one of"),
])
def test_errors_name_file_rule_and_key(validator: RuleValidator, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        validator.rule(rule(**change), "mine.yaml")
    text = str(err.value)
    assert text.startswith("mine.yaml: rule ")
    assert message in text


def test_regex_group_references_are_checked(validator: RuleValidator) -> None:
    ok = validator.rule(rule(match={"attribute": "dhcp.vendor_class", "regex": r"^android-dhcp-(?P<v>[\d.]+)"},
                             conclusions={"os": "Android", "os_version": "{v}"}), "x.yaml")
    assert ok.how == "regex" and ok.conclusions["os_version"] == "{v}"


def test_requires_holds_further_conditions(validator: RuleValidator) -> None:
    """Home Assistant's "host name glob AND MAC prefix" is a match plus a required condition."""
    r = validator.rule(rule(match={"attribute": "dhcp.hostname", "exact": "connect"},
                            requires=[{"attribute": "mac.address", "prefix": "D86162"},
                                      {"attribute": ["ssdp.st", "ssdp.nt"], "exact": "x", "ignore_case": True}]), "x")
    assert [(c.attribute, c.how, c.values, c.also, c.ignore_case) for c in r.requires] == [
        ("mac.address", "prefix", ("D86162",), (), False), ("ssdp.st", "exact", ("x",), ("ssdp.nt",), True)]
    assert type(r).from_dict(r.to_dict()) == r
    assert "requires" not in validator.rule(rule(), "x").to_dict()  # compiled lines of plain rules unchanged


def test_behaviour_marks_evidence_of_what_a_device_did(validator: RuleValidator) -> None:
    """A rule typing a client from the requests it sent says so; the mark survives the compiled index, and
    the compiled lines of unmarked rules stay as they were."""
    r = validator.rule(rule(match={"attribute": "s7comm.function", "exact": "plc_stop"},
                            conclusions={"device_type": "engineering_workstation"}, behaviour="ot_operation"), "x")
    assert r.behaviour == "ot_operation"
    assert type(r).from_dict(r.to_dict()) == r
    plain = validator.rule(rule(), "x")
    assert plain.behaviour == "" and "behaviour" not in plain.to_dict()


def test_device_type_brings_its_category(validator: RuleValidator) -> None:
    r = validator.rule(rule(conclusions={"device_type": "plc"}), "x.yaml")
    assert r.conclusions == {"device_type": "plc", "category": "ot"}


def test_list_values_are_canonical(validator: RuleValidator) -> None:
    r = validator.rule(rule(match={"attribute": "dhcp.param_req_list", "exact": [[1, 3, 6], "1, 3, 6, 15"]}), "x")
    assert r.values == ("1,3,6", "1,3,6,15")
    s = validator.rule(rule(match={"attribute": "dhcp.param_req_list", "set_equal": "6,3,1,3"}), "x")
    assert s.values == ("1,3,6",)
    assert canonical_list("[1, 3, 6]") == "1,3,6" and set_key([6, 1, 3]) == "1,3,6"


def _write(tmp_path: Path, name: str, rules: list[dict[str, Any]]) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"rules": rules}))
    return path


def test_duplicate_ids_across_files_are_refused(validator: RuleValidator, tmp_path: Path) -> None:
    a = _write(tmp_path, "a.yaml", [rule()])
    b = _write(tmp_path, "b.yaml", [rule()])
    with pytest.raises(ConfigError, match=r"b.yaml: rule 'test.rule': key 'id': duplicate \(also in a.yaml\)"):
        validator.load_files([a, b])


def test_file_level_errors(validator: RuleValidator, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: invalid YAML"):
        validator.load_file(bad)
    bad.write_text("- just a list\n")
    with pytest.raises(ConfigError, match="expected a mapping with a 'rules' list"):
        validator.load_file(bad)


def test_rules_per_file_limit(validator: RuleValidator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema, "MAX_RULES_PER_FILE", 2)
    ok = _write(tmp_path, "ok.yaml", [rule(id="r.1"), rule(id="r.2")])
    assert len(validator.load_file(ok)) == 2
    big = _write(tmp_path, "big.yaml", [rule(id=f"r.{i}") for i in range(3)])
    with pytest.raises(ConfigError, match="MAX_RULES_PER_FILE"):
        validator.load_file(big)


def test_pattern_length_limit(validator: RuleValidator) -> None:
    long = "x" * (schema.MAX_PATTERN_LENGTH + 1)
    with pytest.raises(ConfigError, match=f"longer than {schema.MAX_PATTERN_LENGTH}"):
        validator.rule(rule(match={"attribute": "dhcp.vendor_class", "exact": long}), "x.yaml")


def test_rule_files_are_sorted_yaml_only(tmp_path: Path) -> None:
    for name in ("b.yaml", "a.yml", "notes.txt"):
        (tmp_path / name).write_text("rules: []\n")
    assert [p.name for p in rule_files(tmp_path)] == ["a.yml", "b.yaml"]
    assert rule_files(tmp_path / "missing") == []
    assert rule_files(paths.RULES_DIR)  # the shipped directory has files
