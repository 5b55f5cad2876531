"""Home Assistant's generated discovery matchers (Apache-2.0) -> rules, on real entries kept in data/homeassistant."""

from __future__ import annotations

import dataclasses
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from iotwarden.cli.main import main
from iotwarden.errors import ConfigError, ParseError
from iotwarden.inventory.classifier import Classifier
from iotwarden.kb import paths
from iotwarden.kb.importers import homeassistant as ha
from iotwarden.kb.importers.common import ImportResult
from iotwarden.kb.index import KnowledgeBase, compile_rules
from iotwarden.kb.oui import OuiRegistry
from iotwarden.kb.schema import RuleValidator, load_attributes
from iotwarden.kb.taxonomy import Taxonomy
from iotwarden.model import Device

DATA = Path(__file__).parent / "data" / "homeassistant"
GENERATED = DATA / "homeassistant" / "generated"
WHEEL = Path(os.environ.get("IOTWARDEN_HA_WHEEL", "/tmp/ha/homeassistant-2024.3.3-py3-none-any.whl"))
RELEASE = Path(__file__).parent / "data" / "homeassistant-2024.3.3"  # the wheel's generated/ files, whole
SHIPPED = paths.RULES_DIR / ha.SHIPPED_FILE


def fixture_files() -> dict[str, str]:
    return {name: (GENERATED / name).read_text(encoding="utf-8") for name in ha.GENERATED}


def hand_written() -> KnowledgeBase:
    taxonomy = Taxonomy.load()
    return KnowledgeBase([r for r in compile_rules() if r.file != ha.SHIPPED_FILE], load_attributes(), taxonomy)


@pytest.fixture(scope="module")
def converted() -> ImportResult:
    return ha.convert(fixture_files())


def by_reference(result: ImportResult, text: str) -> dict[str, Any]:
    found = [r for r in result.rules if text in r["reference"]]
    assert len(found) == 1, [r["reference"] for r in found]
    return found[0]


def test_fixture_carries_the_apache_licence_and_source() -> None:
    assert "Apache License" in (DATA / "LICENSE.md").read_text() and "Version 2.0" in (DATA / "LICENSE.md").read_text()
    assert "homeassistant-2024.3.3" in (DATA / "SOURCE.txt").read_text()
    for path in GENERATED.iterdir():
        assert "Apache" in path.read_text().splitlines()[1], path.name


def test_dhcp_host_name_and_mac_glob_become_a_match_and_a_required_prefix(converted: ImportResult) -> None:
    rule = by_reference(converted, "'hostname=yale-connect-plus macaddress=00177A*'")
    assert rule["match"] == {"attribute": "dhcp.hostname", "exact": "yale-connect-plus", "ignore_case": True}
    assert rule["requires"] == [{"attribute": "mac.address", "prefix": "00177A"}]
    assert rule["conclusions"] == {"vendor": "August", "device_type": "door_lock"}
    assert rule["weight"] == ha.WEIGHTS["dhcp"]
    assert "https://www.home-assistant.io/integrations/august/" in rule["reference"]
    assert "dhcp.py" in rule["reference"] and "Apache-2.0" in rule["reference"]
    kasa = by_reference(converted, "'hostname=hs* macaddress=B4B024*'")
    assert kasa["match"] == {"attribute": "dhcp.hostname", "regex": "^hs.*$", "ignore_case": True}
    assert kasa["conclusions"] == {"vendor": "TP-Link"}  # TP-Link's integration covers several kinds


def test_mac_only_matchers_need_the_block_of_the_vendor(converted: ImportResult) -> None:
    awair = by_reference(converted, "'macaddress=70886B1*'")  # an MA-M block of Bitfinder (Awair)
    assert awair["match"] == {"attribute": "mac.address", "prefix": "70886B1"} and "requires" not in awair
    assert awair["conclusions"] == {"vendor": "Awair", "device_type": "air_quality_monitor"}
    samsung = by_reference(converted, "'macaddress=4844F7*'")
    assert samsung["conclusions"] == {"vendor": "Samsung"}  # mac_type: false: the block carries phones too
    assert not [r for r in converted.rules if "airzone" in r["id"]]  # E84F25 is Murata's block
    assert converted.skipped["MAC-only matcher on a block registered to another company"] == 1
    assert converted.skipped["dhcp registered_devices (devices the integration already set up)"] == 1


def test_zeroconf_service_with_instance_name_and_txt_properties(converted: ImportResult) -> None:
    shelly = by_reference(converted, "'_http._tcp.local. name=shelly*'")
    assert shelly["match"] == {"attribute": "mdns.services", "exact": "_http._tcp.local", "ignore_case": True}
    assert shelly["requires"] == [{"attribute": "mdns.instances", "regex": "^shelly.*$", "ignore_case": True}]
    assert shelly["conclusions"] == {"vendor": "Shelly"}
    doorbird = by_reference(converted, "'_axis-video._tcp.local. macaddress=1ccae3*'")
    assert doorbird["requires"] == [{"attribute": "mdns.txt", "regex": "^macaddress=1ccae3.*$", "ignore_case": True}]
    assert doorbird["conclusions"] == {"vendor": "DoorBird", "device_type": "doorbell"}
    lutron = by_reference(converted, "'_lutron._tcp.local. SYSTYPE=smartbridge*'")
    assert lutron["requires"] == [{"attribute": "mdns.txt", "regex": "^systype=smartbridge.*$", "ignore_case": True}]
    # the shipped map excludes the bare miIO service: Yeelight lamps announce it too (bench/kb_audit.py)
    assert not [r for r in converted.rules if "zeroconf matcher '_miio._udp.local.'" in r["reference"]]
    # without that exclusion: one matcher two integrations declare, the vendor they agree on, no type
    domains = dict(ha.load_domain_map())
    domains["xiaomi_miio"] = dataclasses.replace(domains["xiaomi_miio"], exclude=frozenset())
    miio = by_reference(ha.convert(fixture_files(), domains),
                        "Home Assistant xiaomi_aqara, xiaomi_miio zeroconf matcher '_miio._udp.local.'")
    assert miio["conclusions"] == {"vendor": "Xiaomi"}
    yeelight = by_reference(converted, "'_miio._udp.local. name=yeelink-*'")
    assert yeelight["conclusions"] == {"vendor": "Yeelight", "device_type": "smart_bulb"}
    assert not [r for r in converted.rules if "googlecast" in str(r["match"])]  # cast: a protocol, skipped


@pytest.mark.parametrize(("model", "matching", "other"), [
    ("Rachio", ["Rachio", "Rachio 3", "Rachio-3e"], ["Rachio3", "rachio", "My Rachio"]),
    ("Smart Bridge", ["Smart Bridge", "Smart Bridge-2"], ["Smart Bridge 2", "Smart"]),  # split(" ")[0] is "Smart"
    ("YL*", ["YLDP13YL", "YL"], ["yl1", "XYL"]),  # a glob is matched as such, case-sensitive
])
def test_homekit_models_match_as_home_assistant_looks_them_up(converted: ImportResult, model: str,
                                                               matching: list[str], other: list[str]) -> None:
    rule = by_reference(converted, f"homekit matcher '{model}'")
    assert rule["requires"] == [{"attribute": "mdns.services", "regex": ha.HAP_SERVICES, "ignore_case": True}]
    pattern = re.compile(rule["match"]["regex"])
    assert all(pattern.search(f"md={m}") for m in matching)
    assert not any(pattern.search(f"md={m}") for m in other)


def test_ssdp_fields_all_required(converted: ImportResult) -> None:
    lg = by_reference(converted, "'st=urn:lge-com:service:webos-second-screen:1'")
    assert lg["match"] == {"attribute": ["ssdp.st", "ssdp.nt"], "exact": "urn:lge-com:service:webos-second-screen:1"}
    assert lg["conclusions"] == {"vendor": "LG", "device_type": "smart_tv"}
    denon = by_reference(converted, "'deviceType=urn:schemas-upnp-org:device:MediaRenderer:1 manufacturer=Denon'")
    assert denon["match"] == {"attribute": "http.upnp_manufacturer", "exact": "Denon"}
    assert denon["requires"] == [{"attribute": "http.upnp_device_type",
                                  "exact": "urn:schemas-upnp-org:device:MediaRenderer:1"}]
    sony = by_reference(converted, "braviatv, songpal ssdp")  # Bravia TVs and Sony audio: no one type
    assert sony["conclusions"] == {"vendor": "Sony"}
    # denonavr's Marantz matchers and xiaomi_miio's bare miIO service
    assert converted.skipped["matcher excluded by the domain map"] == 4
    assert converted.skipped["ssdp matcher on manufacturerURL (no dissector reports it)"] == 1  # deconz


def test_converted_rules_validate_and_ids_are_unique(converted: ImportResult, validate: Any) -> None:
    rules = validate(converted)
    assert len(rules) == len(converted.rules) == 22
    assert all(r.id.startswith("homeassistant.") for r in rules)


def test_a_rule_a_hand_written_one_already_states_is_left_out() -> None:
    result = ha.convert(fixture_files(), existing=hand_written())
    assert not [r for r in result.rules if "nuki" in r["id"]]  # dhcp.hostname.nuki_bridge says the same
    assert result.skipped["already stated by a hand-written rule"] >= 1


@pytest.mark.parametrize(("glob", "regex"), [
    ("shelly*", "shelly.*"), ("[ba][lk]*", "[ba][lk].*"), ("zengge_[0-9a-f][0-9a-f]_*", "zengge_[0-9a-f][0-9a-f]_.*"),
    ("my[45]50*", "my[45]50.*"), ("a?b", "a.b"), ("[!x]y", "[^x]y"), ("a.b+", None), ("[unclosed", None),
])
def test_globs_as_regexes(glob: str, regex: str | None) -> None:
    assert ha.glob_body(glob) == regex


def test_malformed_literals_and_files_are_parse_errors() -> None:
    with pytest.raises(ParseError, match="not a plain literal"):
        ha.convert({"dhcp.py": "DHCP = [dict(domain='x')]\n"})
    with pytest.raises(ParseError, match="no DHCP = "):
        ha.convert({"dhcp.py": "OTHER = []\n"})
    with pytest.raises(ParseError, match="not Python source"):
        ha.convert({"ssdp.py": "SSDP = {\n"})
    with pytest.raises(ParseError, match="expected a dict"):
        ha.convert({"ssdp.py": "SSDP = [1]\n"})
    with pytest.raises(ParseError, match="not Home Assistant's"):
        ha.convert({"bluetooth.py": "BLUETOOTH = []\n"})


def test_domain_map_entries_cite_their_integration() -> None:
    domains = ha.load_domain_map()
    assert len(domains) == 161
    for name, d in domains.items():
        assert d.reference.startswith(f"https://www.home-assistant.io/integrations/{name}/ (homeassistant/generated/")
        assert "2024.3.3" in d.reference
        assert d.skip or d.vendor or d.device_type


def test_domain_map_errors_name_the_domain(tmp_path: Path) -> None:
    bad = tmp_path / "map.yaml"
    bad.write_text("domains:\n  x: {reference: r, vendor: V, device_type: toaster}\n")
    with pytest.raises(ConfigError, match="domain 'x': key 'device_type': 'toaster'"):
        ha.load_domain_map(bad)
    bad.write_text("domains:\n  x: {reference: r}\n")
    with pytest.raises(ConfigError, match="domain 'x': needs a vendor or device_type"):
        ha.load_domain_map(bad)


def classify(mac: str | None, **attributes: list[str]) -> tuple[dict[str, Any], set[str]]:
    dev = Device(key=f"mac:{mac}", first_seen=0.0, last_seen=0.0, mac=mac)
    for name, values in attributes.items():
        dev.attributes[name.replace("__", ".")] = set(values)
    classifier = Classifier(KnowledgeBase.load(refresh=True, user_rules=Path("/nonexistent")))
    found = classifier.classify(dev)
    return {k: c.value for k, c in found.items()}, {m.rule_id for m in classifier.matches(dev)}


def test_shipped_rules_classify_a_yale_bridge_by_host_name_and_block() -> None:
    found, rules = classify("00:17:7a:01:02:03", dhcp__hostname=["yale-connect-plus"])
    assert found["vendor"] == "August" and found["device_type"] == "door_lock"
    assert "homeassistant.august.dhcp.1" in rules
    # the same host name from another block is not what the matcher names: no evidence from it
    found, rules = classify("00:11:22:01:02:03", dhcp__hostname=["yale-connect-plus"])
    assert not any(r.startswith("homeassistant.") for r in rules)
    assert "device_type" not in found


def test_shipped_rules_classify_a_zeroconf_announcement_with_its_txt() -> None:
    found, rules = classify("02:00:00:00:00:01", mdns__services=["_dkapi._tcp.local"])  # Daikin's own service
    assert found["vendor"] == "Daikin" and "homeassistant.daikin.zeroconf.1" in rules
    found, rules = classify(None, mdns__services=["_lutron._tcp.local"], mdns__txt=["systype=SmartBridge2"])
    assert found["vendor"] == "Lutron" and found["device_type"] == "smart_hub"
    assert any(r.startswith("homeassistant.lutron_caseta.zeroconf") for r in rules)
    # DoorBird door stations announce Axis's service too: named by their own block, never Axis
    found, rules = classify("1c:ca:e3:00:11:22", mdns__services=["_axis-video._tcp.local"],
                            mdns__txt=["macaddress=1CCAE3001122"])
    assert any(r.startswith("homeassistant.doorbird.zeroconf") for r in rules)
    assert found["vendor"] == "DoorBird" and found["device_type"] == "doorbell"
    found, rules = classify(None, mdns__services=["_axis-video._tcp.local"], mdns__txt=["macaddress=ACCC8E001122"])
    assert not any(r.startswith("homeassistant.doorbird") for r in rules)  # the TXT property is required
    assert found["vendor"] == "Axis" and found["device_type"] == "camera"


def test_cli_writes_valid_rules_and_refuses_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IOTWARDEN_HOME", str(tmp_path / "home"))
    out = tmp_path / "ha.yaml"
    assert main(["kb", "import", "homeassistant", str(DATA), "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Converted by `iotwarden kb import homeassistant` from homeassistant (Home Assistant "
                           "2024.3.3).") and "Apache-2.0" in text
    rules = RuleValidator(load_attributes(), Taxonomy.load()).load_file(out)
    assert any(r.id.startswith("homeassistant.webostv") for r in rules)
    not_wheel = tmp_path / "notes.txt"
    not_wheel.write_text("hello")
    empty_zip = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty_zip, "w") as z:
        z.writestr("homeassistant/__init__.py", "")
    broken = tmp_path / "broken" / "homeassistant" / "generated"
    broken.mkdir(parents=True)
    (broken / "dhcp.py").write_text("DHCP = [make()]\n")
    capsys.readouterr()
    for source, message in [(not_wheel, "not a Home Assistant wheel"), (tmp_path / "missing.whl", "not a Home"),
                            (empty_zip, "none of homeassistant/generated/"), (tmp_path / "home", "no homeassistant/"),
                            (broken.parent.parent, "DHCP is not a plain literal")]:
        (tmp_path / "home").mkdir(exist_ok=True)
        assert main(["kb", "import", "homeassistant", str(source), "-o", str(tmp_path / "x.yaml")]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
        assert not (tmp_path / "x.yaml").exists()


def test_shipped_rules_are_what_the_importer_writes_from_the_release(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # RELEASE holds the 2024.3.3 wheel's generated/ files whole, so an edit of a hand-written rule that changes
    # which matchers are "already stated" fails here on every run; the wheel itself, where at hand, too
    monkeypatch.setenv("IOTWARDEN_HOME", str(tmp_path / "home"))
    for source in (RELEASE, WHEEL) if WHEEL.is_file() else (RELEASE,):
        out = tmp_path / "homeassistant.yaml"
        assert main(["kb", "import", "homeassistant", str(source), "-o", str(out)]) == 0
        written, shipped = out.read_text(encoding="utf-8"), SHIPPED.read_text(encoding="utf-8")
        assert "(Home Assistant 2024.3.3)" in written.splitlines()[0]
        assert written.splitlines()[1:] == shipped.splitlines()[1:], (
            "kb/data/rules/homeassistant.yaml is stale: rerun `iotwarden kb import homeassistant <wheel> -o` it")


def test_every_matcher_the_domain_map_names_exists_in_the_release() -> None:
    files = {n: (RELEASE / "homeassistant" / "generated" / n).read_text(encoding="utf-8") for n in ha.GENERATED}
    if WHEEL.is_file():
        with zipfile.ZipFile(WHEEL) as wheel:
            assert files == {n: wheel.read(f"homeassistant/generated/{n}").decode() for n in ha.GENERATED}
    scratch = ImportResult("homeassistant")
    matchers = (ha.dhcp_matchers(ha.literal(files["dhcp.py"], "DHCP", "dhcp.py"), scratch)
                + ha.zeroconf_matchers(ha.literal(files["zeroconf.py"], "ZEROCONF", "zeroconf.py"), scratch)
                + ha.homekit_matchers(ha.literal(files["zeroconf.py"], "HOMEKIT", "zeroconf.py"), scratch)
                + ha.ssdp_matchers(ha.literal(files["ssdp.py"], "SSDP", "ssdp.py"), scratch))
    keys = {(d, m.key) for m in matchers for d in m.domains}
    for domain in ha.load_domain_map().values():
        for key in domain.exclude | domain.vendor_only:
            assert (domain.name, key) in keys, (domain.name, key)
    assert {d for d, _ in keys} <= set(ha.load_domain_map())  # the map covers every domain with a matcher


# --- hostile input: the generated files are a download the user points us at (STYLE 10, 13)

_KEYS = st.sampled_from(["domain", "hostname", "macaddress", "registered_devices", "name", "properties", "manufacturer",
                         "modelName", "deviceType", "st", "nt", "modelNumber", "modelDescription", "model"])
_WORDS = st.one_of(st.sampled_from(["hue", "axis", "abode", "apple_tv", "sonos", "roku"]),
                   st.text(alphabet="ab*?[]!-z\\.^$_0F", max_size=8))
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-3, 300), _WORDS)
_LITERAL = st.recursive(_SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.one_of(_KEYS, _WORDS, st.integers(0, 3)), inner, max_size=4)),
    max_leaves=14)
_DOMAINS = ha.load_domain_map()
_REGISTRY = OuiRegistry.load()


@settings(max_examples=100, deadline=None)
@given(dhcp=_LITERAL, zeroconf=_LITERAL, homekit=_LITERAL, ssdp=_LITERAL)
@example(dhcp=[1], zeroconf={}, homekit={}, ssdp={})  # a matcher that is no mapping: AttributeError
@example(dhcp=[{"domain": "hue", "hostname": "a[z-a]b"}], zeroconf={}, homekit={}, ssdp={})  # bad range: re.error
@example(dhcp=[], zeroconf={}, homekit={}, ssdp={"hue": [{0: "a", "x": "b"}]})  # keys of two types: TypeError
def test_any_generated_literals_give_valid_rules_or_a_parse_error(dhcp: Any, zeroconf: Any, homekit: Any,
                                                                  ssdp: Any, validate: Any) -> None:
    files = {"dhcp.py": f"DHCP = {dhcp!r}", "zeroconf.py": f"ZEROCONF = {zeroconf!r}\nHOMEKIT = {homekit!r}",
             "ssdp.py": f"SSDP = {ssdp!r}"}
    try:
        result = ha.convert(files, _DOMAINS, registry=_REGISTRY)
    except ParseError:
        return
    validate(result)  # every rule written loads: its regexes compile, its attributes exist
