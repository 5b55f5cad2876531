"""Component identification: software and versions inside an unpacked image, from package databases
(dpkg, opkg, apk) where present and from version signatures in binaries otherwise, each conclusion
kept with its evidence (path, matched string, offset, SHA-256 of the file)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from iotwarden.firmware.catalog import Product, product_key, products
from iotwarden.firmware.extract.driver import UnpackedFile

MAX_SCAN_BYTES = 64 * 1024 * 1024  # files larger than this are not searched for signatures
MAX_EVIDENCE = 16  # evidence entries kept per component (the first ones found)
MAX_MATCH_LEN = 200  # characters of a matched string kept as evidence

# package databases, by path inside the file-system root
DPKG_STATUS = ("/var/lib/dpkg/status",)  # deb-control(5) stanzas
OPKG_STATUS = ("/usr/lib/opkg/status", "/var/lib/opkg/status", "/usr/lib/ipkg/status")  # same syntax
APK_INSTALLED = ("/lib/apk/db/installed",)  # apk installed database: "P:" name, "V:" version lines


@dataclass(slots=True)
class Evidence:
    method: str  # "signature" | "dpkg" | "opkg" | "apk"
    path: str  # logical path of the file inside the image
    string: str  # the matched text or the package stanza's "name version"
    offset: int  # byte offset of the match in the file (0 for package databases)
    sha256: str
    sha1: str = ""  # SPDX 2.3 §8.4 requires a SHA-1 checksum for every file

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "string": self.string,
            "offset": self.offset,
            "sha256": self.sha256,
            "sha1": self.sha1,
        }


@dataclass(slots=True)
class Component:
    """One piece of software at one version. ``key`` is the CPE ``vendor:product``; ``version`` is
    the upstream version (None when only the presence is known)."""

    name: str
    key: str
    version: str | None
    purl: str
    distro: str | None = None  # distribution build, e.g. "debian 1:1.35.0-4+deb12u1+b1": fixes may be backported
    listens: bool = False
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def cpe(self) -> str:
        vendor, product = self.key.split(":", 1)
        return (
            f"cpe:2.3:a:{_cpe_escape(vendor)}:{_cpe_escape(product)}:{_cpe_escape(self.version or '*')}:*:*:*:*:*:*:*"
        )

    @property
    def paths(self) -> list[str]:
        return sorted({e.path for e in self.evidence})

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "key": self.key,
            "version": self.version,
            "purl": self.purl,
            "cpe": self.cpe,
            "distro": self.distro,
            "listens": self.listens,
            "evidence": [e.to_dict() for e in self.evidence],
        }


def _cpe_escape(value: str) -> str:
    """CPE 2.3 formatted-string quoting (NISTIR 7695 §6.2.2.2): backslash before special characters."""
    if value in ("*", "-"):
        return value
    return re.sub(r"([^A-Za-z0-9_.\-])", r"\\\1", value)


def sha256_file(path: Any) -> str:
    return _digests(path)[0]


def _digests(path: Any) -> tuple[str, str]:
    h, h1 = hashlib.sha256(), hashlib.sha1()  # noqa: S324 - SHA-1 only because SPDX 2.3 requires it
    with open(path, "rb") as f:  # noqa: PTH123 - path may be str or Path
        while chunk := f.read(1 << 20):
            h.update(chunk)
            h1.update(chunk)
    return h.hexdigest(), h1.hexdigest()


def upstream_version(pkg_version: str) -> str:
    """The upstream part of a Debian/Alpine/opkg package version: no epoch, no revision/-rN."""
    v = pkg_version.split(":", 1)[1] if re.match(r"^\d+:", pkg_version) else pkg_version
    v = re.sub(r"-r\d+$", "", v)
    return v.rsplit("-", 1)[0] if "-" in v else v


def _purl(product: Product | None, name: str, version: str | None, ptype: str = "generic") -> str:
    base = product.purl if product and ptype == "generic" else f"pkg:{ptype}/{name}"
    return f"{base}@{version}" if version else base


class _Collector:
    def __init__(self) -> None:
        self.found: dict[tuple[str, str | None], Component] = {}

    def add(
        self,
        product: Product | None,
        name: str,
        version: str | None,
        ev: Evidence,
        *,
        distro: str | None = None,
        ptype: str = "generic",
    ) -> None:
        key = product.key if product else product_key(name)
        comp = self.found.get((key, version))
        if comp is None:
            comp = Component(
                product.name if product else name,
                key,
                version,
                _purl(product, name, version, ptype),
                distro,
                bool(product and product.listens),
            )
            self.found[(key, version)] = comp
        comp.distro = comp.distro or distro
        if len(comp.evidence) < MAX_EVIDENCE:
            comp.evidence.append(ev)


def _stanzas(text: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if cur:
                out.append(cur)
            cur = {}
        elif ":" in line and not line[0].isspace():
            k, v = line.split(":", 1)
            cur[k.strip()] = v.strip()
    if cur:
        out.append(cur)
    return out


def _package_db(f: UnpackedFile, col: _Collector) -> None:
    text = f.host.read_text("utf-8", "replace")
    digest, digest1 = _digests(f.host)
    index = {p.name: p for p in products()}
    if f.fs_path in APK_INSTALLED:
        method, ptype, entries = (
            "apk",
            "apk/alpine",
            [{"Package": s.get("P", ""), "Version": s.get("V", "")} for s in _stanzas(text)],
        )
    else:
        method = "dpkg" if f.fs_path in DPKG_STATUS else "opkg"
        ptype = "deb/debian" if method == "dpkg" else "generic"
        entries = [s for s in _stanzas(text) if "installed" in s.get("Status", "installed")]
    for st in entries:
        name, version = st.get("Package", ""), st.get("Version", "")
        if not name or not version:
            continue
        key = product_key(name)
        product = next((p for p in index.values() if p.key == key), None)
        ev = Evidence(method, f.path, f"{name} {version}", 0, digest, digest1)
        col.add(product, name, upstream_version(version), ev, distro=f"{method} {version}", ptype=ptype)


def _signatures(f: UnpackedFile, col: _Collector) -> None:
    data = f.host.read_bytes()
    digests: tuple[str, str] | None = None
    for product in products():
        for pattern in product.patterns:
            m = pattern.search(data)
            if not m:
                continue
            version = m.group(1).decode("ascii") if m.groups() and m.group(1) else None
            digests = digests or (hashlib.sha256(data).hexdigest(), hashlib.sha1(data).hexdigest())  # noqa: S324
            if version is None and product.version_pattern:
                lone = product.version_pattern.findall(data)
                version = lone[0].decode("ascii") if len(set(lone)) == 1 else None
            text = m.group(0).replace(b"\x00", b" ").decode("latin-1").strip()[:MAX_MATCH_LEN]
            distro = None
            if product.distro:
                dm = product.distro.search(data, m.start(), m.end() + 80)
                distro = f"debian {dm.group(1).decode('latin-1')}" if dm else None
            col.add(
                product, product.name, version, Evidence("signature", f.path, text, m.start(), *digests), distro=distro
            )
            break  # one pattern per product per file is enough evidence


def identify(files: list[UnpackedFile]) -> list[Component]:
    """Components in the unpacked ``files``, sorted by name and version."""
    col = _Collector()
    for f in files:
        if f.is_symlink or f.size == 0:
            continue
        if f.fs_path in DPKG_STATUS + OPKG_STATUS + APK_INSTALLED:
            _package_db(f, col)
        elif f.size <= MAX_SCAN_BYTES:
            _signatures(f, col)
    comps = list(col.found.values())
    # a versionless sighting of a product found elsewhere with a version adds nothing
    versioned = {c.key for c in comps if c.version}
    comps = [c for c in comps if c.version or c.key not in versioned]
    return sorted(comps, key=lambda c: (c.name, c.version or ""))
