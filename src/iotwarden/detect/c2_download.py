"""Tool download by a device: a bot binary or shell script fetched over HTTP, or anything over TFTP
from outside (how IoT malware is installed and updated).

Id ``detect.c2.tool_download`` (ATT&CK T1105 Ingress Tool Transfer). Mirai's loader and Gafgyt
infection scripts run ``wget``/``busybox wget``/``curl`` or ``tftp -g -r`` on the device to fetch a
shell script (``bins.sh``) and per-architecture binaries (``mirai.arm7``, ``.mips``, ``.mpsl``,
``.x86``...; Mirai ``loader/src``, ``dlr``). An HTTP request (packets or Zeek http.log) from an
internal host is a tool download when the last path segment ends in one of ``suffixes``, or when
its User-Agent is a command-line fetcher (``fetchers``) and its Host is a bare IP address (device
firmware updates name their servers). A TFTP read (udp/69, RFC 1350) to an outside host is one too; a
datagram to udp/69 averaging more than ``max_tftp_request`` payload bytes is no TFTP request (RFC 1350 §5: opcode,
file name, mode; RFC 2347's options add a few tens of bytes) but a flood's, whose random ports meet 69 now and then
(Mirai's ``attack_udp_generic``: 512 bytes a datagram by default).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from iotwarden.detect.base import (
    BYTES,
    Detector,
    Options,
    Range,
    external,
    initiator,
    is_internal,
    subject_key,
    text,
)
from iotwarden.hooks import Context
from iotwarden.model import Flow, Observation

TOOL_DOWNLOAD = "detect.c2.tool_download"
TFTP_PORT = 69  # RFC 1350


@dataclass(frozen=True)
class DownloadOptions(Options):
    # architecture suffixes of IoT bot builds and shell droppers (Mirai build.sh targets, Gafgyt scripts)
    suffixes: str = ".sh,.arm,.arm4,.arm5,.arm6,.arm7,.mips,.mpsl,.mipsel,.x86,.x86_64,.i586,.i686,.m68k,.ppc,.sh4," \
                    ".spc,.sparc,.arc"
    fetchers: str = "wget,curl,busybox"  # User-Agent prefixes of command-line fetchers (lower case)
    max_tftp_request: int = 256  # payload bytes a TFTP request datagram carries at most (mean over the flow's)
    bounds: ClassVar[dict[str, Range]] = {"max_tftp_request": BYTES}


def ip_literal(host: str) -> bool:
    """Whether an HTTP Host value (``host[:port]``, RFC 9110 §7.2) is an IP address literal."""
    name = host.rsplit(":", 1)[0].strip("[]") if host.count(":") <= 1 else host.strip("[]")
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class DownloadDetector(Detector):
    observes = frozenset({"http"})
    name: ClassVar[str] = "detect.c2_download"
    ids: ClassVar[tuple[str, ...]] = (TOOL_DOWNLOAD,)
    defaults: ClassVar[Options] = DownloadOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self._suffixes = tuple(s.strip().lower() for s in str(self.options.suffixes).split(",") if s.strip())
        self._fetchers = tuple(s.strip().lower() for s in str(self.options.fetchers).split(",") if s.strip())

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.proto != "http" or obs.kind != "request" or not obs.src_ip or not is_internal(obs.src_ip):
            return
        uri, agent, host = text(obs.fields.get("uri")) or "", text(obs.fields.get("user_agent")) or "", \
            text(obs.fields.get("host")) or obs.dst_ip or ""
        name = urlsplit(uri).path.rsplit("/", 1)[-1].lower()
        binary = bool(name) and name.endswith(self._suffixes)
        fetcher = agent.lower().startswith(self._fetchers) and ip_literal(host)
        if not (binary or fetcher):
            return
        self.raise_alert(ctx, TOOL_DOWNLOAD, title=f"{obs.src_ip} downloads {name or uri or '/'} from {host} "
                         f"({agent or 'no User-Agent'})", severity="high",
                         subject=subject_key(ctx, obs.src_mac, obs.src_ip, obs.domain, obs.ts), ts=obs.ts,
                         key=f"http:{host}", mitre=("T1105",), src_ip=obs.src_ip, dst_ip=obs.dst_ip,
                         evidence={"uri": uri, "user_agent": agent, "host": host}, observations=[obs])

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        for flow in flows:  # flow() looks at TFTP only: every other flow is passed over here
            if flow.b_port == TFTP_PORT:
                self.flow(ctx, flow)

    def flow(self, ctx: Context, flow: Flow) -> None:
        if flow.ip_proto != 17 or flow.b_port != TFTP_PORT or not is_internal(flow.a_ip) or not external(flow.b_ip):
            return
        if flow.payload_ab > self.options.max_tftp_request * max(flow.pkts_ab, 1):
            return  # a flood's datagram that met port 69, no request
        self.raise_alert(ctx, TOOL_DOWNLOAD, title=f"{flow.a_ip} uses TFTP with {flow.b_ip} outside the site",
                         severity="high", subject=initiator(ctx, flow), ts=flow.first_seen,
                         key=f"tftp:{flow.b_ip}", mitre=("T1105",), src_ip=flow.a_ip, dst_ip=flow.b_ip,
                         evidence={"port": TFTP_PORT}, flows=[flow])
