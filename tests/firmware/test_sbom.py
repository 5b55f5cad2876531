"""SBOMs from a real image: CycloneDX 1.6 passes cyclonedx-python-lib's strict schema validator and
SPDX 2.3 passes spdx-tools' validator (both run inside the functions), with purls, CPEs and hashes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from iotwarden.firmware.components import identify, sha256_file
from iotwarden.firmware.extract.driver import extract
from iotwarden.firmware.sbom import ImageInfo, cyclonedx_json, spdx_json


@pytest.fixture(scope="module")
def analysed(squashfs_image: Path) -> tuple[ImageInfo, list]:  # type: ignore[type-arg]
    with extract(squashfs_image) as ex:
        comps = identify(ex.files)
    return ImageInfo(squashfs_image.name, sha256_file(squashfs_image), squashfs_image.stat().st_size), comps


def test_cyclonedx(analysed: tuple[ImageInfo, list]) -> None:  # type: ignore[type-arg]
    image, comps = analysed
    doc = json.loads(cyclonedx_json(image, comps))
    assert doc["specVersion"] == "1.6"
    by_name = {c["name"]: c for c in doc["components"]}
    assert by_name["busybox"]["purl"] == "pkg:generic/busybox@1.35.0"
    assert by_name["openssl"]["cpe"] == "cpe:2.3:a:openssl:openssl:3.0.22:*:*:*:*:*:*:*"
    assert (
        by_name["dnsmasq"]["hashes"][0]["content"] == "fdb17a6b5511ce142f3b16bf8e212fe8b05d7abcc2ca2fcdec1aa033691d0196"
    )
    assert by_name["lighttpd"]["evidence"]["occurrences"][0]["location"].endswith("/bin/lighttpd")
    assert doc["metadata"]["component"]["hashes"][0]["content"] == image.sha256


def test_spdx(analysed: tuple[ImageInfo, list]) -> None:  # type: ignore[type-arg]
    image, comps = analysed
    doc = json.loads(spdx_json(image, comps))
    assert doc["spdxVersion"] == "SPDX-2.3"
    pkgs = {p["name"]: p for p in doc["packages"]}
    refs = {r["referenceType"]: r["referenceLocator"] for r in pkgs["dropbear"]["externalRefs"]}
    assert refs == {
        "purl": "pkg:generic/dropbear@2022.83",
        "cpe23Type": "cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:2022.83:*:*:*:*:*:*:*",
    }
    assert any(f["fileName"].endswith("/bin/busybox") for f in doc["files"])


def test_spdx_file_passes_the_pyspdxtools_command(analysed: tuple[ImageInfo, list], tmp_path: Path) -> None:  # type: ignore[type-arg]
    """The SPDX document written to a file is parsed and validated by spdx-tools' own command line."""
    image, comps = analysed
    (tmp_path / "fw.spdx.json").write_text(spdx_json(image, comps))
    tool = Path(sys.executable).parent / "pyspdxtools"
    done = subprocess.run([str(tool), "-i", str(tmp_path / "fw.spdx.json")], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "invalid" not in (done.stdout + done.stderr).lower()
