"""risk.firmware.outdated: a device whose banner names software older than the first fixed version listed
in ``kb/data/risk/outdated_software.yaml`` (OpenSSH, Dropbear, BusyBox, lighttpd, Boa, GoAhead, ...)."""

from __future__ import annotations

from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity
from iotwarden.risk import references as ref
from iotwarden.risk.base import Check
from iotwarden.risk.knowledge import BannerSource, Software, older, outdated_software, parse_version

MAX_BANNER_CHARS = 2048  # characters of one banner searched for product names
# banners whose outdated products are remembered: a device repeats its banner in every answer (a Server
# header, an SSH greeting), and each distinct one is searched with every product's pattern once;
# past the limit the memo starts again empty
MAX_BANNER_MEMO = 4096


class FirmwareOutdated(Check):
    """The banner's sender (the observation's subject). Severity per product, from the data file."""

    id: ClassVar[str] = "risk.firmware.outdated"
    title: ClassVar[str] = "Outdated software revealed by a banner"
    severity: ClassVar[Severity] = "medium"
    remediation: ClassVar[str] = ("Update the device firmware to a release that ships a fixed version (ask the "
                                  "vendor: distributions backport fixes without changing the banner); if no "
                                  "update exists, isolate the device and plan its replacement.")
    references: ClassVar[tuple[str, ...]] = (ref.NIST_SOFTWARE_UPDATE, ref.ETSI_KEEP_UPDATED, ref.CWE_UNMAINTAINED)

    def __init__(self) -> None:
        super().__init__()
        sources, self.software = outdated_software()
        self.sources: dict[tuple[str, str], list[BannerSource]] = {}
        for source in sources:
            self.sources.setdefault((source.proto, source.kind), []).append(source)
        self.protos = frozenset(proto for proto, _ in self.sources)  # type: ignore[misc]
        self._found: dict[str, tuple[tuple[Software, str], ...]] = {}  # banner -> outdated (product, version)

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        for source in self.sources.get((obs.proto, obs.kind), ()):
            if source.role is not None and obs.fields.get("role") != source.role:
                continue
            text = obs.fields.get(source.field)
            if isinstance(text, str) and text:
                self._banner(obs, text[:MAX_BANNER_CHARS], source)

    def _banner(self, obs: Observation, text: str, source: BannerSource) -> None:
        for sw, version in self._outdated_in(text):
            self.hit_subject(obs, sw.severity, software=f"{sw.product} {version}",
                             fixed_in=f"{sw.product} {sw.fixed_in_text or 'none (unmaintained)'}",
                             reasons=sw.reason, advisories=list(sw.references),
                             seen_in=f"{source.proto}.{source.kind}.{source.field}")

    def _outdated_in(self, text: str) -> tuple[tuple[Software, str], ...]:
        """The products ``text`` names in a version older than their fixed one, in data-file order
        (a pure function of the text: remembered, up to MAX_BANNER_MEMO banners)."""
        found = self._found.get(text)
        if found is None:
            outdated = []
            for sw in self.software:
                m = sw.pattern.search(text)
                if m is not None and _outdated(sw, m.group(1)):
                    outdated.append((sw, m.group(1)))
            found = tuple(outdated)
            if len(self._found) >= MAX_BANNER_MEMO:
                self._found.clear()
            self._found[text] = found
        return found


def _outdated(sw: Software, version: str) -> bool:
    return sw.fixed_in is None or older(parse_version(version), sw.fixed_in)
