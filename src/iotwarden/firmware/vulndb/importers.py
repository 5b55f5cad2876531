"""Feed importers: NVD API/feeds JSON 2.0, CVE JSON 5 (CNA records), OSV, Alpine secdb and the CISA KEV
catalog, each turned into :class:`Vulnerability`, :class:`AffectedRange` and :class:`KevEntry` records.
The format is recognised from the content; a record that cannot be read is counted, never fatal."""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iotwarden import inputfile
from iotwarden.errors import FirmwareError, ParseError, describe
from iotwarden.firmware.catalog import product_key
from iotwarden.firmware.vulndb.records import AffectedRange, KevEntry, Vulnerability

MAX_FEED_BYTES = 2 * 1024 * 1024 * 1024  # one feed file read into memory (refused before it is read: inputfile)
_CPE_SPLIT = re.compile(r"(?<!\\):")


@dataclass(slots=True)
class Feed:
    kind: str
    vulns: list[Vulnerability] = field(default_factory=list)
    ranges: list[AffectedRange] = field(default_factory=list)
    kev: list[KevEntry] = field(default_factory=list)
    skipped: int = 0  # records that could not be read


def parse_cpe(cpe: str) -> dict[str, str]:
    """Fields of a CPE 2.3 formatted string (NISTIR 7695 §6.2): part, vendor, product, version, update, ..."""
    parts = _CPE_SPLIT.split(cpe)
    if len(parts) != 13 or parts[0] != "cpe" or parts[1] != "2.3":
        raise ParseError(f"not a CPE 2.3 formatted string: {cpe!r}")
    names = (
        "part",
        "vendor",
        "product",
        "version",
        "update",
        "edition",
        "language",
        "sw_edition",
        "target_sw",
        "target_hw",
        "other",
    )
    return {n: v.replace("\\", "") for n, v in zip(names, parts[2:], strict=True)}


# --- NVD JSON 2.0 (https://csrc.nist.gov/schema/nvd/api/2.0/cve_api_json_2.0.schema)
def _nvd_metrics(cve: dict[str, Any]) -> tuple[float | None, str | None, str | None]:
    if "cvssV31" in cve:  # condensed records keep the v3.1 cvssData at the top
        d = cve["cvssV31"]
        return d.get("baseScore"), d.get("vectorString"), d.get("baseSeverity")
    metrics = cve.get("metrics", {})
    for key in ("cvssMetricV31", "cvssMetricV30", "cvssMetricV40", "cvssMetricV2"):
        for m in metrics.get(key, []):
            d = m.get("cvssData", {})
            return d.get("baseScore"), d.get("vectorString"), d.get("baseSeverity") or m.get("baseSeverity")
    return None, None, None


def _nvd_record(cve: dict[str, Any], feed: Feed) -> None:
    vid = str(cve["id"])
    summary = cve.get("description") or next(
        (d["value"] for d in cve.get("descriptions", []) if d.get("lang") == "en"), ""
    )
    score, vector, severity = _nvd_metrics(cve)
    feed.vulns.append(Vulnerability(vid, "nvd", summary, cve.get("published"), score, vector, severity))
    for config in cve.get("configurations", []):
        for node in config.get("nodes", []):
            for m in node.get("cpeMatch", []):
                if not m.get("vulnerable"):
                    continue  # platform ("running on/with") entries are conditions, not the vulnerable part
                cpe = parse_cpe(m["criteria"])
                version = cpe["version"]
                feed.ranges.append(
                    AffectedRange(
                        vid,
                        "nvd",
                        f"{cpe['vendor']}:{cpe['product']}".lower(),
                        exact=None if version in ("*", "-") else version,
                        start_incl=m.get("versionStartIncluding"),
                        start_excl=m.get("versionStartExcluding"),
                        end_incl=m.get("versionEndIncluding"),
                        end_excl=m.get("versionEndExcluding"),
                    )
                )


# --- CVE JSON 5 (CVE Record Format 5.x, containers.cna.affected[].versions[])
def _cve5_record(doc: dict[str, Any], feed: Feed) -> None:
    vid = str(doc["cveMetadata"]["cveId"])
    cna = doc["containers"]["cna"]
    summary = next((d["value"] for d in cna.get("descriptions", []) if d.get("lang", "").startswith("en")), "")
    score = vector = severity = None
    for m in cna.get("metrics", []):
        for key in ("cvssV3_1", "cvssV3_0", "cvssV4_0"):
            if key in m:
                score, vector, severity = (
                    m[key].get("baseScore"),
                    m[key].get("vectorString"),
                    m[key].get("baseSeverity"),
                )
        if severity is None and m.get("other", {}).get("content", {}).get("text"):
            severity = str(m["other"]["content"]["text"])  # e.g. OpenSSL's own Low/Moderate/High/Critical
    published = cna.get("datePublic") or doc["cveMetadata"].get("datePublished")
    feed.vulns.append(Vulnerability(vid, "cve5", summary, published, score, vector, severity))
    for aff in cna.get("affected", []):
        key = product_key(str(aff.get("product", "")), aff.get("vendor"))
        for v in aff.get("versions", []):
            if v.get("status") != "affected":
                continue
            start = v.get("version")
            start = None if start in (None, "0", "unspecified", "n/a", "*") else start
            if v.get("lessThan") or v.get("lessThanOrEqual"):
                end_excl, end_incl = v.get("lessThan"), v.get("lessThanOrEqual")
                if end_excl in ("*",):
                    end_excl = None
                feed.ranges.append(
                    AffectedRange(vid, "cve5", key, start_incl=start, end_excl=end_excl, end_incl=end_incl)
                )
            elif start:
                feed.ranges.append(AffectedRange(vid, "cve5", key, exact=start))


# --- OSV (https://ossf.github.io/osv-schema/)
def _osv_record(doc: dict[str, Any], feed: Feed) -> None:
    vid = str(doc["id"])
    aliases = [str(a) for a in doc.get("aliases", [])]
    cve = next((a for a in aliases if a.startswith("CVE-")), None)
    main = cve or vid
    vector = next((s["score"] for s in doc.get("severity", []) if str(s.get("type", "")).startswith("CVSS_V3")), None)
    feed.vulns.append(
        Vulnerability(
            main,
            "osv",
            doc.get("summary") or doc.get("details", "")[:500],
            doc.get("published"),
            None,
            vector,
            None,
            [a for a in [vid, *aliases] if a != main],
        )
    )
    for aff in doc.get("affected", []):
        pkg = aff.get("package", {})
        key = product_key(str(pkg.get("name", "")))
        for version in aff.get("versions", []):
            feed.ranges.append(AffectedRange(main, "osv", key, exact=str(version), note=str(pkg.get("ecosystem", ""))))
        for rng in aff.get("ranges", []):
            if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue  # GIT ranges name commits, not versions
            introduced: str | None = None
            for ev in rng.get("events", []):
                if "introduced" in ev:
                    introduced = None if ev["introduced"] == "0" else str(ev["introduced"])
                elif "fixed" in ev or "last_affected" in ev:
                    feed.ranges.append(
                        AffectedRange(
                            main,
                            "osv",
                            key,
                            start_incl=introduced,
                            end_excl=ev.get("fixed"),
                            end_incl=ev.get("last_affected"),
                            note=str(pkg.get("ecosystem", "")),
                        )
                    )
                    introduced = None
            if introduced is not None or (rng.get("events") and "introduced" in rng["events"][-1]):
                feed.ranges.append(
                    AffectedRange(main, "osv", key, start_incl=introduced, note=str(pkg.get("ecosystem", "")))
                )


# --- Alpine secdb (secfixes: first package version with the fix -> ids; "0" = never affected)
def _alpine(doc: dict[str, Any], feed: Feed) -> None:
    name = str(doc["name"])
    key = product_key(name)
    distro = f"alpine {doc.get('distroversion', '')}".strip()
    seen = {v.id for v in feed.vulns}
    for fixed, ids in doc.get("secfixes", {}).items():
        if fixed == "0":
            continue  # Alpine says its package was never affected
        m = re.match(r"^(.*?)-r(\d+)$", fixed)
        upstream, rel = (m.group(1), int(m.group(2))) if m else (fixed, 0)
        for vid in ids:
            if vid not in seen:
                seen.add(vid)
                feed.vulns.append(Vulnerability(vid, "alpine"))
            # -r0: the upstream release itself carries the fix; -rN>0: a distribution patch, so that
            # upstream release is still affected
            if rel == 0:
                feed.ranges.append(AffectedRange(vid, "alpine", key, end_excl=upstream, note=f"{distro} fixed {fixed}"))
            else:
                feed.ranges.append(
                    AffectedRange(
                        vid, "alpine", key, end_incl=upstream, note=f"{distro} fixed {fixed} (distribution patch)"
                    )
                )


def _kev(doc: dict[str, Any], feed: Feed) -> None:
    for v in doc["vulnerabilities"]:
        feed.kev.append(
            KevEntry(
                str(v["cveID"]),
                str(v.get("dateAdded", "")),
                str(v.get("vulnerabilityName", "")),
                v.get("knownRansomwareCampaignUse") == "Known",
            )
        )


def _each(feed: Feed, records: list[Any], parse: Any) -> None:
    for rec in records:
        try:
            parse(rec, feed)
        except (KeyError, TypeError, ValueError, AttributeError, ParseError):
            feed.skipped += 1


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise FirmwareError("feed 'vulnerabilities' is not a list")
    return value


def parse_feed(doc: Any) -> Feed:
    """Recognise and read one decoded JSON document."""
    if isinstance(doc, dict) and "vulnerabilities" in doc and "catalogVersion" in doc:
        feed = Feed("kev")
        _each(feed, [{"vulnerabilities": [v]} for v in _list(doc["vulnerabilities"])], _kev)
    elif isinstance(doc, dict) and "vulnerabilities" in doc:  # NVD API 2.0 response / feed file
        feed = Feed("nvd")
        _each(feed, [v.get("cve", v) if isinstance(v, dict) else v for v in _list(doc["vulnerabilities"])], _nvd_record)
    elif isinstance(doc, list) and doc and isinstance(doc[0], dict) and "configurations" in doc[0]:
        feed = Feed("nvd")
        _each(feed, doc, _nvd_record)
    elif isinstance(doc, dict) and "configurations" in doc and "id" in doc:  # one NVD 2.0 CVE object
        feed = Feed("nvd")
        _each(feed, [doc], _nvd_record)
    elif isinstance(doc, dict) and "cveMetadata" in doc:
        feed = Feed("cve5")
        _each(feed, [doc], _cve5_record)
    elif isinstance(doc, dict) and "secfixes" in doc:
        feed = Feed("alpine")
        _each(feed, [doc], _alpine)
    elif isinstance(doc, dict) and "affected" in doc and "id" in doc:
        feed = Feed("osv")
        _each(feed, [doc], _osv_record)
    elif isinstance(doc, list) and doc and isinstance(doc[0], dict) and "affected" in doc[0]:
        feed = Feed("osv")
        _each(feed, doc, _osv_record)
    else:
        raise FirmwareError("not a vulnerability feed this importer knows (NVD 2.0, CVE 5, OSV, Alpine secdb, KEV)")
    return feed


def _read(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is a ``.gz`` feed (NVD publishes its feeds gzipped), bounded."""
    raw = inputfile.read_bytes(path, MAX_FEED_BYTES)
    if path.suffix != ".gz":
        return raw
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
        data = f.read(MAX_FEED_BYTES + 1)
    if len(data) > MAX_FEED_BYTES:
        raise FirmwareError(f"{path}: unpacks to more than {MAX_FEED_BYTES} bytes")
    return data


def load_feed(path: Path) -> Feed:
    """Read one feed file (JSON, or gzipped JSON); FirmwareError when it is not JSON or not a known feed."""
    try:
        doc = json.loads(_read(path))
    except (OSError, ValueError, EOFError, zlib.error, RecursionError) as exc:  # RecursionError: nested too deeply
        raise FirmwareError(f"{path}: cannot read feed: {describe(exc)}") from None
    try:
        return parse_feed(doc)
    except FirmwareError as exc:
        raise FirmwareError(f"{path}: {exc}") from None
