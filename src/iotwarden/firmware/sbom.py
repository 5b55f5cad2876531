"""SBOMs of an analysed image: CycloneDX 1.6 JSON (cyclonedx-python-lib, checked by its strict JSON
schema validator) and SPDX 2.3 JSON (spdx-tools, checked by its document validator), with purls,
CPEs, SHA-256 file hashes and the evidence of each component."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.component import ComponentType
from cyclonedx.model.component_evidence import ComponentEvidence, Occurrence
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from packageurl import PackageURL

from iotwarden import __version__
from iotwarden.errors import FirmwareError
from iotwarden.firmware.components import Component

CDX_SPEC = "1.6"
SPDX_VERSION = "SPDX-2.3"


@dataclass(slots=True)
class ImageInfo:
    name: str
    sha256: str
    size: int


def cyclonedx_json(image: ImageInfo, components: list[Component]) -> str:
    """A CycloneDX 1.6 JSON BOM; raises FirmwareError if the schema validator rejects it."""
    bom = Bom()
    root = bom.metadata.component = CdxComponent(
        name=image.name,
        type=ComponentType.FIRMWARE,
        bom_ref="image",
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=image.sha256)],
    )
    bom.metadata.properties.add(Property(name="iotwarden:version", value=__version__))
    for i, c in enumerate(components):
        occurrences = [
            Occurrence(location=e.path, offset=e.offset or None, additional_context=e.string) for e in c.evidence
        ]
        hashes = sorted({e.sha256 for e in c.evidence if e.method == "signature"})
        props = [Property(name="iotwarden:evidence.method", value=",".join(sorted({e.method for e in c.evidence})))]
        if c.distro:
            props.append(Property(name="iotwarden:distro-build", value=c.distro))
        bom.components.add(
            CdxComponent(
                name=c.name,
                version=c.version,
                bom_ref=f"component-{i}-{c.name}",
                type=ComponentType.OPERATING_SYSTEM
                if c.key == "linux:linux_kernel"
                else ComponentType.LIBRARY
                if c.name in ("openssl", "musl", "glibc", "uclibc", "uclibc-ng", "zlib")
                else ComponentType.APPLICATION,
                purl=PackageURL.from_string(c.purl),
                cpe=c.cpe if c.version else None,
                hashes=[HashType(alg=HashAlgorithm.SHA_256, content=h) for h in hashes],
                evidence=ComponentEvidence(occurrences=occurrences) if occurrences else None,
                properties=props,
            )
        )
    bom.register_dependency(root, list(bom.components))
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    # imported here: the validator builds its JSON-schema grammar at import (~1.3 CPU s), which every process that
    # imports firmware analysis (the CLI's firmware commands, test collection) would otherwise pay unasked
    from cyclonedx.validation.json import JsonStrictValidator  # noqa: PLC0415

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise FirmwareError(f"CycloneDX output fails its schema: {error}")
    return text


def spdx_json(image: ImageInfo, components: list[Component]) -> str:
    """An SPDX 2.3 JSON document (packages with purl/CPE external refs, files with SHA-256); raises
    FirmwareError with the validator's messages if spdx-tools finds it invalid."""
    from spdx_tools.spdx.model import (  # noqa: PLC0415 - spdx-tools is slow to import; only when asked
        Actor,
        ActorType,
        Checksum,
        ChecksumAlgorithm,
        CreationInfo,
        Document,
        ExternalPackageRef,
        ExternalPackageRefCategory,
        File,
        Package,
        Relationship,
        RelationshipType,
        SpdxNoAssertion,
    )
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document  # noqa: PLC0415
    from spdx_tools.spdx.writer.json.json_writer import write_document_to_file  # noqa: PLC0415

    created = datetime.now(UTC).replace(microsecond=0)
    doc = Document(
        CreationInfo(
            SPDX_VERSION,
            "SPDXRef-DOCUMENT",
            image.name,
            f"https://spdx.org/spdxdocs/iotwarden-{image.sha256[:16]}-{uuid.uuid4()}",
            [Actor(ActorType.TOOL, f"iotwarden-{__version__}")],
            created,
        )
    )
    doc.packages.append(
        Package(
            "SPDXRef-image",
            image.name,
            SpdxNoAssertion(),
            files_analyzed=False,
            checksums=[Checksum(ChecksumAlgorithm.SHA256, image.sha256)],
        )
    )
    doc.relationships.append(Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, "SPDXRef-image"))
    files_seen: dict[str, str] = {}
    for i, c in enumerate(components):
        pid = f"SPDXRef-Package-{i}"
        refs = [ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", c.purl)]
        if c.version:
            refs.append(ExternalPackageRef(ExternalPackageRefCategory.SECURITY, "cpe23Type", c.cpe))
        doc.packages.append(
            Package(
                pid,
                c.name,
                SpdxNoAssertion(),
                version=c.version,
                files_analyzed=False,
                external_references=refs,
                comment=c.distro,
            )
        )
        doc.relationships.append(Relationship("SPDXRef-image", RelationshipType.CONTAINS, pid))
        for e in c.evidence:
            fid = files_seen.get(e.path)
            if fid is None:
                fid = f"SPDXRef-File-{len(files_seen)}"
                files_seen[e.path] = fid
                doc.files.append(
                    File(
                        "./" + e.path.lstrip("/"),
                        fid,
                        [Checksum(ChecksumAlgorithm.SHA1, e.sha1), Checksum(ChecksumAlgorithm.SHA256, e.sha256)],
                        comment=f"{e.method}: {e.string}",
                    )
                )
            doc.relationships.append(Relationship(pid, RelationshipType.GENERATED_FROM, fid))
    problems = validate_full_spdx_document(doc)
    if problems:
        raise FirmwareError("SPDX output is invalid: " + "; ".join(p.validation_message for p in problems[:5]))
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sbom.spdx.json"
        write_document_to_file(doc, str(out), validate=False)
        return json.dumps(json.loads(out.read_text("utf-8")), indent=2)
