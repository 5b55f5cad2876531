"""The device taxonomy: enough types, valid categories, parents, aliases for foreign names."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.errors import ConfigError
from iotwarden.kb.taxonomy import CATEGORIES, Taxonomy

REQUIRED = (
    "camera", "nvr", "doorbell", "printer", "mfp", "voip_phone", "video_conferencing", "smart_tv",
    "media_player", "streaming_stick", "smart_speaker", "smart_plug", "smart_bulb", "smart_hub",
    "thermostat", "hvac_controller", "building_controller", "badge_reader", "door_lock", "alarm_panel",
    "sensor", "plc", "hmi", "rtu", "historian", "engineering_workstation", "ot_gateway", "safety_controller",
    "vfd", "infusion_pump", "patient_monitor", "medical_imaging", "workstation", "laptop", "server",
    "mobile_phone", "tablet", "router", "switch", "access_point", "firewall", "nas", "ups", "game_console",
    "wearable",
    # household kinds a security team meets on staff and guest networks, and substation IEDs
    "smart_scale", "health_monitor", "smoke_alarm", "photo_frame", "baby_monitor", "weather_station",
    "air_quality_monitor", "appliance", "kitchen_appliance", "irrigation_controller", "garage_door_opener",
    "robot_vacuum", "pet_device", "ev_charger", "ereader", "ied",
)


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


def test_at_least_forty_types_with_the_required_ones(taxonomy: Taxonomy) -> None:
    assert len(taxonomy) >= 40
    missing = [t for t in REQUIRED if taxonomy.get(t) is None]
    assert missing == []


def test_every_type_is_complete(taxonomy: Taxonomy) -> None:
    for t in taxonomy.types.values():
        assert t.category in CATEGORIES
        assert t.label and t.description
        if t.parent is not None:
            assert taxonomy.get(t.parent) is not None


def test_every_category_is_used(taxonomy: Taxonomy) -> None:
    assert {t.category for t in taxonomy.types.values()} == set(CATEGORIES)


def test_parents(taxonomy: Taxonomy) -> None:
    assert taxonomy.ancestors("doorbell") == ["camera"]
    assert taxonomy.ancestors("engineering_workstation") == ["workstation"]
    assert taxonomy.ancestors("camera") == []


@pytest.mark.parametrize(("foreign", "type_id"), [
    ("VoIP Phone", "voip_phone"),            # Satori device_type
    ("Routers and APs", "router"),           # Fingerbank class
    ("Smartphones/PDAs/Tablets", "mobile_phone"),
    ("IP Network Camera", "camera"),
    ("Wireless Access Point           ", "access_point"),
    ("Printers", "printer"),
    ("Smoke Detector", "smoke_alarm"),
    ("Sprinkler Controller", "irrigation_controller"),
    ("Digital Picture Frame", "photo_frame"),
    ("Protection relay", "ied"),
    ("no such thing", None),
])
def test_alias_resolution(taxonomy: Taxonomy, foreign: str, type_id: str | None) -> None:
    assert taxonomy.resolve(foreign) == type_id


def test_no_name_stands_for_two_types(taxonomy: Taxonomy) -> None:
    # a foreign name resolves to the first type listing it: a second type listing it would never get it
    clashes = [(name, t.id, taxonomy.resolve(name)) for t in taxonomy.types.values()
               for name in (t.id, t.label, *t.aliases) if taxonomy.resolve(name) != t.id]
    assert clashes == []


def test_household_kinds_sit_under_their_general_kind(taxonomy: Taxonomy) -> None:
    assert taxonomy.ancestors("smart_scale") == ["health_monitor"]
    assert taxonomy.ancestors("baby_monitor") == ["camera"]
    assert taxonomy.ancestors("air_quality_monitor") == ["sensor"]
    assert taxonomy.category_of("ied") == "ot"


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(body)
    return path


def test_bad_category_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "types:\n  - {id: toaster, label: T, category: kitchen, description: d}\n")
    with pytest.raises(ConfigError, match="type 'toaster': key 'category'"):
        Taxonomy.load(path)


def test_unknown_parent_and_cycles_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "types:\n  - {id: a, label: A, category: iot, description: d, parent: b}\n")
    with pytest.raises(ConfigError, match="key 'parent': unknown type 'b'"):
        Taxonomy.load(path)
    path = _write(tmp_path, "types:\n  - {id: a, label: A, category: iot, description: d, parent: b}\n"
                            "  - {id: b, label: B, category: iot, description: d, parent: a}\n")
    with pytest.raises(ConfigError, match="cycle"):
        Taxonomy.load(path)


@pytest.mark.parametrize("parent", ["[camera]", "{camera: doorbell}"])
def test_a_parent_that_is_no_type_id_is_refused_naming_the_key(tmp_path: Path, parent: str) -> None:
    """A list or mapping where a parent's id belongs is one error line, not a TypeError (unhashable) at the check."""
    path = _write(tmp_path, "types:\n  - {id: camera, label: C, category: iot, description: d}\n"
                            f"  - {{id: doorbell, label: D, category: iot, description: d, parent: {parent}}}\n")
    with pytest.raises(ConfigError, match="type 'doorbell': key 'parent': a type id"):
        Taxonomy.load(path)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "types:\n  - {id: a, label: A, category: iot, description: d}\n"
                            "  - {id: a, label: A2, category: it, description: d}\n")
    with pytest.raises(ConfigError, match="type 'a': key 'id': duplicate"):
        Taxonomy.load(path)


def test_an_unquoted_description_holding_a_comma_is_refused_not_cut(tmp_path: Path) -> None:
    """In a {...} entry YAML splits an unquoted text at its comma into stray keys: refused, naming them."""
    path = _write(tmp_path, "types:\n  - {id: a, label: A, category: iot, description: a door camera, with a bell}\n")
    with pytest.raises(ConfigError, match=r"type 'a': unknown key.*'with a bell'.*quote a text holding a comma"):
        Taxonomy.load(path)
    path = _write(tmp_path, 'types:\n  - {id: a, label: A, category: iot, description: "a door camera, with a bell"}\n')
    assert Taxonomy.load(path).get("a").description == "a door camera, with a bell"  # type: ignore[union-attr]


def test_the_shipped_descriptions_are_whole_sentences(taxonomy: Taxonomy) -> None:
    doorbell = taxonomy.get("doorbell")
    assert doorbell is not None
    assert doorbell.description == "Door camera with a bell button, usually cloud-connected (Ring, Nest, EZVIZ)."
