"""Feed import and matching on the real records in ../shared/data/vuln: a busybox 1.33.1 and a
dnsmasq 2.82 get the CVEs the NVD records and Alpine secdb give them; ranking puts KEV first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import FirmwareError
from iotwarden.firmware.components import Component
from iotwarden.firmware.vulndb.importers import Feed, load_feed, parse_feed
from iotwarden.firmware.vulndb.match import match
from iotwarden.firmware.vulndb.records import MemoryVulnRepository, VulnRepository
from tests.conftest import shared


def _load(repo: VulnRepository) -> None:
    vuln = shared("vuln")
    files = [
        vuln / "nvd_sample/nvd2_condensed_sample.json",
        vuln / "cisa_kev/known_exploited_vulnerabilities.json",
        *sorted((vuln / "alpine_secdb_v3.18").glob("*.json")),
        *sorted((vuln / "openssl_secjson").glob("CVE-*.json")),
    ]
    for f in files:
        feed = load_feed(f)
        assert feed.skipped == 0, f
        repo.put(feed.vulns, feed.ranges)
        repo.put_kev(feed.kev)


def _comp(name: str, key: str, version: str, listens: bool = False) -> Component:
    return Component(name, key, version, f"pkg:generic/{name}@{version}", listens=listens)


@pytest.fixture(scope="module")
def repo() -> MemoryVulnRepository:
    r = MemoryVulnRepository()
    _load(r)
    return r


def check_issue_examples(repo: VulnRepository) -> None:
    matches = match(
        [_comp("busybox", "busybox:busybox", "1.33.1"), _comp("dnsmasq", "thekelleys:dnsmasq", "2.82", listens=True)],
        repo,
    )
    by_id = {m.vuln_id: m for m in matches}
    assert sorted(by_id["CVE-2021-42374"].sources) == ["alpine", "nvd"]
    assert by_id["CVE-2021-42374"].cvss == 5.3
    assert sorted(by_id["CVE-2020-25681"].sources) == ["alpine", "nvd"]
    assert by_id["CVE-2020-25681"].cvss == 8.1
    assert "network_service" in by_id["CVE-2020-25681"].hints
    # Alpine "0" means never affected; 1.33.0-r5's fix is in upstream 1.33.1
    assert "CVE-2021-42373" not in by_id and "CVE-2021-28831" not in by_id
    assert {f"CVE-2020-2568{i}" for i in range(1, 8)} <= set(by_id)
    # exactly what the records give: NVD (1.27.0 <= v <= 1.33.1 for busybox, < 2.83 for dnsmasq) and
    # every Alpine secfix whose first fixed package version is above the upstream version
    by_component = {(m.product_key, m.vuln_id) for m in matches}
    assert {v for c, v in by_component if c == "busybox:busybox"} == {
        "CVE-2021-42374", *(f"CVE-2021-{n}" for n in range(42375, 42387) if n not in (42376, 42377)),
        "CVE-2022-28391", "ALPINE-13661", "CVE-2022-30065", "CVE-2022-48174",
        "CVE-2023-42363", "CVE-2023-42364", "CVE-2023-42365", "CVE-2023-42366",
    }
    assert {v for c, v in by_component if c == "thekelleys:dnsmasq"} == {
        *(f"CVE-2020-2568{i}" for i in range(1, 8)), "CVE-2021-3448", "CVE-2022-0934", "CVE-2023-28450",
        "CVE-2023-50387", "CVE-2023-50868",
    }


def test_nvd_api_envelope_single_cve_object_and_gzip_read_the_same(tmp_path: Path) -> None:
    """The NVD sample as an API 2.0 response (``vulnerabilities[].cve``), as one CVE object per file
    (the per-CVE layout of NVD mirrors) and gzipped: the same records and ranges each time."""
    import gzip

    records = json.loads(shared("vuln", "nvd_sample", "nvd2_condensed_sample.json").read_text())
    plain = parse_feed(records)
    envelope = {"format": "NVD_CVE", "version": "2.0", "vulnerabilities": [{"cve": r} for r in records]}
    (tmp_path / "nvd.json.gz").write_bytes(gzip.compress(json.dumps(envelope).encode()))
    api = load_feed(tmp_path / "nvd.json.gz")
    singles = [parse_feed(r) for r in records]
    assert api.kind == plain.kind == "nvd" and all(f.kind == "nvd" for f in singles)
    assert [v.id for v in api.vulns] == [v.id for v in plain.vulns] == [f.vulns[0].id for f in singles]
    assert api.ranges == plain.ranges == [r for f in singles for r in f.ranges]
    (tmp_path / "broken.json.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(FirmwareError, match="cannot read feed"):
        load_feed(tmp_path / "broken.json.gz")


def test_issue_examples(repo: MemoryVulnRepository) -> None:
    check_issue_examples(repo)


def test_uclibc_nvd_ranges(repo: MemoryVulnRepository) -> None:
    ids = {m.vuln_id for m in match([_comp("uclibc-ng", "uclibc-ng_project:uclibc-ng", "1.0.40")], repo)}
    assert ids == {"CVE-2022-30295"}
    assert not match([_comp("uclibc-ng", "uclibc-ng_project:uclibc-ng", "1.0.41")], repo)


def test_openssl_cve5_ranges_and_kev_ranking(repo: MemoryVulnRepository) -> None:
    old = match([_comp("openssl", "openssl:openssl", "1.0.1f")], repo)
    assert old[0].vuln_id == "CVE-2014-0160" and old[0].kev  # Heartbleed: in KEV, ranked first
    ids = {m.vuln_id for m in match([_comp("openssl", "openssl:openssl", "3.0.12")], repo)}
    assert "CVE-2024-0727" in ids  # affected 3.0.0 .. <3.0.13
    ids = {m.vuln_id for m in match([_comp("openssl", "openssl:openssl", "3.0.13")], repo)}
    assert "CVE-2024-0727" not in ids


def test_osv_record() -> None:
    doc = {
        "id": "OSV-2021-1",
        "aliases": ["CVE-2021-0001"],
        "summary": "s",
        "affected": [
            {
                "package": {"ecosystem": "Alpine:v3.18", "name": "busybox"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.30.0"}, {"fixed": "1.34.0"}]}],
            }
        ],
    }
    feed = parse_feed(doc)
    r = MemoryVulnRepository()
    r.put(feed.vulns, feed.ranges)
    assert [m.vuln_id for m in match([_comp("busybox", "busybox:busybox", "1.33.1")], r)] == ["CVE-2021-0001"]
    assert not match([_comp("busybox", "busybox:busybox", "1.34.0")], r)


def test_unknown_document_is_a_firmware_error(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(FirmwareError):
        load_feed(tmp_path / "x.json")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=4),
    max_leaves=20,
)
feed_like = (
    st.fixed_dictionaries({"vulnerabilities": st.lists(json_values, max_size=3)})
    | st.fixed_dictionaries({"cveMetadata": json_values, "containers": json_values})
    | st.lists(st.fixed_dictionaries({"configurations": json_values, "id": json_values}), min_size=1, max_size=3)
)


@settings(max_examples=200, deadline=None)
@given(feed_like)
def test_fuzz_parse_feed(doc: object) -> None:
    try:
        feed = parse_feed(doc)
    except FirmwareError:
        return
    assert isinstance(feed, Feed)
