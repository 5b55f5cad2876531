"""STIX 2.1 bundles, validated by parsing them back with the stix2 library (no custom content)."""

from __future__ import annotations

import json
from pathlib import Path

import stix2

from iotwarden.export import open_exporter
from iotwarden.export.stix import bundle
from tests.export.alerts import sample_alerts


def test_bundle_parses_back_as_strict_stix_2_1() -> None:
    parsed = stix2.parse(bundle(sample_alerts()).serialize(), allow_custom=False)
    types = [o.type for o in parsed.objects]
    assert {"identity", "indicator", "observed-data", "sighting", "infrastructure", "relationship",
            "ipv4-addr", "ipv6-addr"} <= set(types)
    assert types.count("identity") == 1  # one sensor identity shared by every sighting
    assert all(o.spec_version == "2.1" for o in parsed.objects)


def test_sightings_count_the_alert_and_point_at_indicator_and_sensor() -> None:
    alerts = sample_alerts()
    parsed = stix2.parse(bundle(alerts).serialize(), allow_custom=False)
    by_id = {o.id: o for o in parsed.objects}
    sightings = [o for o in parsed.objects if o.type == "sighting"]
    assert sorted(s.count for s in sightings) == sorted(a.count for a in alerts)
    for s in sightings:
        assert by_id[s.sighting_of_ref].type == "indicator"
        assert by_id[s.where_sighted_refs[0]].type == "identity"
    indicator = next(o for o in parsed.objects if o.type == "indicator" and o.name == alerts[0].title)
    assert indicator.pattern == "[ipv4-addr:value = '10.10.20.102']"
    assert [r.external_id for r in indicator.external_references] == ["T1046", "T1110"]
    ics = next(o for o in parsed.objects if o.type == "indicator" and o.name == alerts[2].title)
    assert ics.external_references[0].source_name == "mitre-ics-attack"


def test_ids_are_stable_across_exports() -> None:
    first = {o["id"] for o in json.loads(bundle(sample_alerts()).serialize())["objects"]}
    second = {o["id"] for o in json.loads(bundle(sample_alerts()).serialize())["objects"]}
    assert first == second


def test_stix_file_exporter_writes_one_bundle_on_close(tmp_path: Path) -> None:
    out = tmp_path / "bundle.json"
    exporter = open_exporter(f"stix+file://{out}")
    for alert in sample_alerts():
        exporter.send(alert)
    assert not out.exists()
    exporter.close()
    parsed = stix2.parse(out.read_text(), allow_custom=False)
    assert parsed.type == "bundle"
