"""Score alerts against labelled flows: Stratosphere IoT-23 / CTU ``conn.log.labeled`` files (real or
written by tests/detect/labelled.py), per host, per (host, C&C server) pair and per flow.

Classes from the detailed labels: ``scan`` (``PartOfAHorizontalPortScan`` and its spellings) and
``c2`` (every ``C&C*`` label: C&C, C&C-HeartBeat, C&C-FileDownload, C&C-Torii, C&C-Mirai, ...).
The bare ``FileDownload`` label is neither, by IoT-23's own label definitions (the dataset's page,
<https://www.stratosphereips.org/datasets-iot23>, section "Labels"): ``C&C`` marks an infected
device connected to a C&C server (periodic connections, binaries downloaded from it, commands),
``FileDownload`` a file downloaded to the infected device (responses over 3-5 kB, often to a port
or address known as a C&C server's), two labels of their own; where both apply the dataset combines
them (``C&C-FileDownload`` in 35-1, 42-1, 43-1, 44-1, 52-1, as ``C&C-HeartBeat-FileDownload`` and
``C&C-PartOfAHorizontalPortScan`` combine others), so a bare ``FileDownload`` is a download the
labellers did not tie to the C&C (42-1's from a second address, 49-1's 14 beside one
``C&C-FileDownload``: docs/iot23-shapes.md). A C&C alert on a pair whose only labelled flows are
bare ``FileDownload`` therefore counts against per-pair and per-flow precision, as one on any other
pair without C&C flows does.
A C&C flow counts for the site's end of it (a peer reaching a P2P bot's open port originates the flow),
and an alert naming a socket (``SOCKET_IDS``: ``detect.c2.p2p_udp``, key ``udp/PORT``) flags every (bot,
peer) pair and flow of that socket: a P2P bot has no one server, its tens of peers are all its channel.
C&C over DNS is C&C too: ``detect.c2.dns_poll`` (commands polled in TXT answers), ``detect.dns.tunnel`` (a channel
in query names, T1071.004) and ``detect.dns.dga`` (the rendezvous of a DGA, T1568.002), each naming the querying host
and its resolver: the pair of the labelled lookups of a channel over DNS (tests/detect/dns_c2.py).
Run on real data: ``python -m tests.detect.labels conn.log.labeled [--detect-on capture.pcap]``
(detection on the labelled log itself, or on the capture it was made from).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from iotwarden.detect.base import is_internal
from iotwarden.errors import IotwardenError, ParseError
from iotwarden.model.alert import Alert
from iotwarden.sources.zeek_format import TsvHeader, apply_directive, decode_tsv, iter_lines, open_log

# alerts that name a socket (key ``udp/PORT``) rather than one server: a P2P bot's tens of peers, each a
# "server" of its own, are the pairs of that socket's flows
SOCKET_IDS = frozenset({"detect.c2.p2p_udp"})
IDS = {
    "scan": frozenset({"detect.scan.horizontal", "detect.scan.vertical", "detect.scan.telnet_mirai"}),
    "c2": frozenset({"detect.c2.beaconing", "detect.c2.callback", "detect.c2.session", "detect.c2.tool_download",
                     "detect.c2.protocol_mismatch", "detect.c2.p2p_udp", "detect.c2.dns_poll", "detect.dns.tunnel",
                     "detect.dns.dga"}),
}


@dataclass(frozen=True, slots=True)
class LabelledFlow:
    ts: float
    src: str
    dst: str
    port: int
    detailed: str  # the detailed label ("-" when the flow is benign or has no detail)
    proto: str = "tcp"  # conn.log's proto: tcp, udp, icmp
    src_port: int = 0  # the originator's port (id.orig_p)

    @property
    def cls(self) -> str | None:
        return label_class(self.detailed)


def label_class(detailed: str) -> str | None:
    """``c2``, ``scan`` or None for an IoT-23 detailed label (C&C first: C&C-PartOfAHorizontalPortScan)."""
    name = detailed.lower().replace("-", "")
    if name.startswith("c&c"):
        return "c2"
    if "horizontalportscan" in name.replace("partofa", ""):
        return "scan"
    return None


def read_labels(path: Path) -> list[LabelledFlow]:
    """The labelled flows of a conn.log.labeled (TSV, the label columns after spaces or tabs)."""
    out: list[LabelledFlow] = []
    header = TsvHeader()
    with open_log(path) as fh:
        for line in iter_lines(fh, lambda: None):
            if line.startswith(b"#"):
                header = apply_directive(line, header)
                continue
            try:
                rec = decode_tsv(line, header)
            except ParseError:
                continue
            detailed = str(rec.get("detailed-label") or rec.get("detailed_label") or "-")
            if detailed == "-" and str(rec.get("label", "")).lower().startswith("malicious"):
                detailed = "Malicious"
            out.append(LabelledFlow(float(rec["ts"]), str(rec["id.orig_h"]), str(rec["id.resp_h"]),
                                    int(rec["id.resp_p"]), detailed, str(rec.get("proto") or "tcp"),
                                    int(rec.get("id.orig_p") or 0)))
    return out


@dataclass(frozen=True, slots=True)
class Score:
    positives: int
    flagged: int
    hits: int

    @property
    def recall(self) -> float:
        return self.hits / self.positives if self.positives else 1.0

    @property
    def precision(self) -> float:
        return self.hits / self.flagged if self.flagged else 1.0

    def __str__(self) -> str:
        return f"recall {self.recall:6.1%} ({self.hits}/{self.positives})  precision {self.precision:6.1%} " \
               f"({self.hits}/{self.flagged})"


def bot_end(f: LabelledFlow) -> tuple[str, str]:
    """(the site's end, the other end) of a flow: a C&C flow a peer opened towards the bot (a P2P bot's
    open port: Hide and Seek) names the bot as its responder; any other flow its originator first."""
    if not is_internal(f.src) and is_internal(f.dst):
        return f.dst, f.src
    return f.src, f.dst


def bot_socket(f: LabelledFlow) -> tuple[str, str, int]:
    """(address, protocol, port) of the site's end of a flow (:func:`bot_end`)."""
    if not is_internal(f.src) and is_internal(f.dst):
        return f.dst, f.proto, f.port
    return f.src, f.proto, f.src_port


def _sockets(alerts: Iterable[Alert]) -> set[tuple[str, str, int]]:
    """The sockets alerts of :data:`SOCKET_IDS` name: their source and their key's ``proto/port``."""
    out = set()
    for a in alerts:
        proto, _, port = a.key.partition("/")
        if a.id in SOCKET_IDS and a.src_ip and port.isdecimal():
            out.add((a.src_ip, proto, int(port)))
    return out


def _flagged_pairs(alerts: Sequence[Alert], flows: Sequence[LabelledFlow]) -> set[tuple[str, str]]:
    """(source, destination) of C&C alerts, and every (bot, peer) of a socket a socket alert names."""
    pairs = {(a.src_ip, a.dst_ip) for a in alerts if a.id in IDS["c2"] and a.src_ip and a.dst_ip}
    sockets = _sockets(alerts)
    return pairs | {bot_end(f) for f in flows if bot_socket(f) in sockets} if sockets else pairs


def by_host(alerts: Iterable[Alert], flows: Sequence[LabelledFlow], cls: str) -> Score:
    """Hosts that originated a flow of ``cls`` (for C&C: the site's end of it) against the sources of
    alerts of ``cls``."""
    positives = {bot_end(f)[0] if cls == "c2" else f.src for f in flows if f.cls == cls}
    flagged = {a.src_ip for a in alerts if a.id in IDS[cls] and a.src_ip}
    return Score(len(positives), len(flagged), len(positives & flagged))


def by_pair(alerts: Iterable[Alert], flows: Sequence[LabelledFlow]) -> Score:
    """(bot, C&C server) pairs of C&C-labelled flows against the (source, destination) of C&C alerts."""
    positives = {bot_end(f) for f in flows if f.cls == "c2"}
    flagged = _flagged_pairs(list(alerts), flows)
    return Score(len(positives), len(flagged), len(positives & flagged))


def by_flow(alerts: Iterable[Alert], flows: Sequence[LabelledFlow]) -> Score:
    """C&C flows covered by a C&C alert's (source, destination) pair or by the socket a P2P alert names;
    flagged: every flow of those pairs and sockets."""
    pairs = _flagged_pairs(list(alerts), flows)
    claimed = [f for f in flows if bot_end(f) in pairs]
    hits = sum(f.cls == "c2" for f in claimed)
    return Score(sum(f.cls == "c2" for f in flows), len(claimed), hits)


def report(alerts: Sequence[Alert], flows: Sequence[LabelledFlow]) -> str:
    labels = Counter(f.detailed for f in flows)
    lines = [f"{len(flows)} labelled flows: " + ", ".join(f"{k} {v}" for k, v in labels.most_common()),
             f"scanning per host:  {by_host(alerts, flows, 'scan')}",
             f"C&C per host:       {by_host(alerts, flows, 'c2')}",
             f"C&C per bot/server: {by_pair(alerts, flows)}",
             f"C&C per flow:       {by_flow(alerts, flows)}"]
    lines += [f"  {a.id:28} {a.src_ip or '':16} -> {a.dst_ip or '':16} x{a.count:<5} {a.title}"
              for a in sorted(alerts, key=lambda a: (a.id, a.src_ip or ""))]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from tests.detect.runner import detect  # loads every analyzer: only when run as a tool

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("labelled", type=Path, nargs="+", help="conn.log.labeled files")
    parser.add_argument("--detect-on", type=Path, action="append", help="run detection on these captures instead")
    args = parser.parse_args(argv)
    try:
        flows = [f for path in args.labelled for f in read_labels(path)]
        alerts = list(detect(args.detect_on or args.labelled).alerts)
    except (IotwardenError, OSError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report(alerts, flows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
