"""Protocol mismatch on a web port: a device's connections to one outside host on the HTTPS or HTTP
port carry bytes that are not TLS or HTTP, again and again (a custom C&C protocol hiding on a port
firewalls leave open).

Id ``detect.c2.protocol_mismatch`` (ATT&CK T1571 Non-Standard Port: "a protocol and port pairing that
are typically not associated"; T1095 Non-Application Layer Protocol). Needs no learned normal, so a
device infected before monitoring started is caught. Torii talks to its C&C over tcp/443 in its own
XOR-obfuscated protocol, not TLS (Avast, "New Torii Botnet uncovers more than Mirai", 2018); IoT-23
labels those flows ``C&C-Torii``. The evidence is always "bytes seen, and not the port's protocol",
never "no bytes seen" (a capture cut to its headers gives no verdict):

- packets: the port's dissector (``dissect/tls.py`` on 443/8443, ``dissect/http.py`` on 80/8080) was
  handed captured payload of the flow and rejected it before recognising any (the engine's
  ``Flow.extra["failed_services"]``, as Zeek's conn.log ``failed_service``);
- Zeek conn.log: the analyzer is in ``failed_service`` or logged as ``-ssl``/``-http``
  (``sources/zeek_map.py``), or another protocol was recognised, or no service was recognised on a
  port Zeek attaches that analyzer to by port (``ssl_ports`` of ``base/protocols/ssl/main.zeek``: 443;
  ``ports`` of ``base/protocols/http/main.zeek``: 80, 8080) while Zeek saw every byte
  (``missed_bytes`` 0).

A connection counts when it was seen from its handshake (the initiator's SYN and the responder's
SYN-ACK: a flow picked up mid-stream is no verdict) and both directions carried payload;
``min_sessions`` of them to one outside host and port within ``window_s`` raise. A host that also
answers the device over UDP is left out: P2P camera SDKs meet their relay servers over UDP and log in
to the same servers over tcp/443 in their own protocol (the nku_lifecycle Xiaobai Y2 camera: udp/32100
and non-TLS tcp/443 to the same three relays); no IoT bot family documented talks to its C&C both
ways.

A connection that carried a documented protocol of its own is no mismatch: remote-access tools and
VPNs that enterprises run on 443 to pass firewalls (``recognised``): OpenVPN over TCP
(``dissect/openvpn.py``: the client's hard reset answered by the server's), TeamViewer's fallback
from tcp/5938 (``dissect/teamviewer.py``: the client's 0x17 0x24 magic answered by a magic, as nDPI
and libprotoident recognise it), SSH (sslh setups; ``dissect/ssh.py``: the RFC 4253 §4.2
identification string). From packets the engine offers bytes the port's dissector rejected to the
other stream dissectors and names the flow after the one that then describes them (``Flow.app``, as
Zeek's dynamic protocol detection); from Zeek, the ``service`` column names the analyzer (``ssh``,
``rdp``; the zeek-spicy-openvpn package's ``spicy_openvpn_tcp``... read as ``openvpn``). Another
protocol recognised (plain HTTP or telnet on 443) still counts, and bytes that only open like a
protocol are not enough: unknown bytes (Torii's) still raise.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import (
    COUNT,
    DURATION,
    ENTRIES,
    SECONDS,
    SYN,
    Detector,
    Options,
    Range,
    external,
    flow_domain,
    initiator,
    is_internal,
    site_host,
)
from iotwarden.detect.series import Series, SeriesTable, lru_get
from iotwarden.hooks import Context
from iotwarden.model import Flow

MISMATCH = "detect.c2.protocol_mismatch"
EVIDENCE_FLOWS = 4  # latest mismatched connections of a series kept to show with its alert


@dataclass(frozen=True)
class MismatchOptions(Options):
    # port -> the protocol (dissector name) its traffic should be: IANA's https/http service ports
    expected: str = "443:tls,8443:tls,80:http,8080:http"
    # ports on which Zeek attaches the analyzer by port, so an unset service means it rejected the
    # bytes (base/protocols/ssl/main.zeek ssl_ports, base/protocols/http/main.zeek ports)
    zeek_port_analyzers: str = "443:tls,80:http,8080:http"
    # documented protocols that legitimately run on those ports (dissector names, Zeek service names):
    # a connection that carried one of them is no mismatch
    recognised: str = "ssh,openvpn,teamviewer,rdp"
    min_sessions: int = 3  # mismatched connections to one host:port within the window
    window_s: float = 86400.0
    realert_s: float = 86400.0  # one series is reported again after this long
    max_series: int = 100_000  # (device, host, port) series tracked (LRU)
    max_udp_peers: int = 200_000  # (device, outside host) pairs that answered over UDP, remembered (LRU)
    bounds: ClassVar[dict[str, Range]] = {"min_sessions": COUNT, "window_s": SECONDS, "realert_s": DURATION,
                                          "max_series": ENTRIES, "max_udp_peers": ENTRIES}


def _port_map(text: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for item in text.split(","):
        port, _, proto = item.strip().partition(":")
        if port.strip().isdecimal() and proto.strip():
            out[int(port)] = proto.strip().lower()
    return out


def service_name(name: str) -> str:
    """A dissector or Zeek service name as the protocol it names: Zeek packages built with Spicy log
    ``spicy_<analyzer>`` and may split one protocol into variants (zeek-spicy-openvpn:
    ``spicy_openvpn_tcp_hmac_sha1``), read as ``openvpn``."""
    name = name.strip().lower()
    return name.removeprefix("spicy_").split("_", 1)[0] if name.startswith("spicy_") else name


class MismatchDetector(Detector):
    name: ClassVar[str] = "detect.c2_mismatch"
    ids: ClassVar[tuple[str, ...]] = (MISMATCH,)
    defaults: ClassVar[Options] = MismatchOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)  # min_sessions at least 1: its declared bounds
        self._expected = _port_map(self.options.expected)
        self._zeek = _port_map(self.options.zeek_port_analyzers)
        self._recognised = frozenset(service_name(n) for n in self.options.recognised.split(",") if n.strip())
        self._series: SeriesTable = OrderedDict()
        self._udp_peers: OrderedDict[tuple[str, str], None] = OrderedDict()

    def mismatch(self, flow: Flow) -> str | None:
        """What the flow carried instead of its port's protocol ("not tls", "telnet"), or None when it
        carried that protocol or a ``recognised`` one, or there is no verdict."""
        want = self._expected.get(flow.b_port)
        if (want is None or flow.ip_proto != 6 or not flow.payload_ab or not flow.payload_ba
                or not flow.tcp_flags_ab & SYN or not flow.tcp_flags_ba & SYN):
            return None
        services = flow.extra.get("services")
        carried = [flow.app, *(services if isinstance(services, list) else ())]
        if any(isinstance(s, str) and service_name(s) in self._recognised for s in carried):
            return None  # a documented protocol of its own, not bytes that are no protocol
        failed = flow.extra.get("failed_services")
        if isinstance(failed, list) and want in failed:
            return f"not {want}"
        if flow.app is not None:
            return flow.app if flow.app != want else None
        zeek = flow.end_reason == "zeek" and self._zeek.get(flow.b_port) == want
        return f"not {want}" if zeek and flow.extra.get("missed_bytes") == 0 else None

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        # flow() keeps state only for an answered UDP flow or a TCP session with payload both ways (what
        # mismatch() needs): a scan's empty probes are passed over here
        for flow in flows:
            proto = flow.ip_proto
            if (proto == 17 and flow.pkts_ba) or (proto == 6 and flow.payload_ab and flow.payload_ba):
                self.flow(ctx, flow)

    def flow(self, ctx: Context, flow: Flow) -> None:
        o: MismatchOptions = self.options
        if not is_internal(flow.a_ip) or not external(flow.b_ip):
            return
        src = site_host(flow.a_ip, flow_domain(flow))  # the device within its broadcast domain
        if flow.ip_proto == 17 and flow.pkts_ba:
            self._udp_peers[(src, flow.b_ip)] = None
            self._udp_peers.move_to_end((src, flow.b_ip))
            if len(self._udp_peers) > o.max_udp_peers:
                self._udp_peers.popitem(last=False)
            return
        carried = self.mismatch(flow)
        if carried is None or (src, flow.b_ip) in self._udp_peers:
            return
        series = lru_get(self._series, (src, flow.b_ip, flow.b_port), Series, o.max_series)
        series.add(flow, keep_times=o.min_sessions, keep_flows=EVIDENCE_FLOWS)
        now = flow.first_seen
        if len(series.times) < o.min_sessions or now - series.times[0] > o.window_s:
            return
        if series.raised is not None and now - series.raised < o.realert_s:
            return
        series.raised = now
        self.raise_alert(ctx, MISMATCH, title=f"{flow.a_ip} speaks {carried} on {flow.b_ip}:{flow.b_port} "
                         f"({len(series.times)} connections)", severity="medium",
                         subject=initiator(ctx, flow), ts=now, key=f"{flow.b_ip}:{flow.b_port}",
                         mitre=("T1571", "T1095"), src_ip=flow.a_ip, dst_ip=flow.b_ip,
                         evidence={"carried": carried, "expected": self._expected[flow.b_port],
                                   "connections": len(series.times), "port": flow.b_port},
                         flows=list(series.flows))
