"""How `iotwarden analyze` scales on Zeek conn.logs of IoT-23's size and shape.

Stratosphere's IoT-23 captures are single infected devices logged for a day or more: most of their
tens of millions of conn.log lines are one bot's horizontal scan (``S0`` connections to random
addresses on tcp/23, 2323, 80, 8080, ...), the rest its C&C connections and a little benign traffic.
This benchmark writes such logs (IoT-23's ``conn.log.labeled`` layout, labels included) at growing
sizes and runs ``iotwarden analyze`` on each through bench/rusage_wrap.py, printing wall time, CPU
time, lines per CPU second and peak RSS, so that growth with size shows (memory must stay flat).

    .venv/bin/python bench/iot23_scale.py --lines 250000 1000000 [--keep DIR | --reuse DIR]
    .venv/bin/python bench/iot23_scale.py --pcap --lines 250000 1000000

``--pcap`` writes the same day as a capture instead (the lab's wire helpers: the scan's SYNs to random
addresses, a tenth of them refused with a RST, the rest unanswered; the C&C SYN retried twice; DNS
queries and answers; the benign devices' TLS sessions, handshake to close) and reports flows and
packets per CPU second.

``--keep DIR`` writes the logs (and databases) to DIR and leaves them there; ``--reuse DIR`` does the
same but first looks for a log already written there by ``--keep`` or ``--reuse`` and, when its data
line count is the one asked for, analyses it as it is instead of writing it again (~40 s at 2M lines),
so before/after pairs on one input are cheap. Conn.logs only: a capture's flow count is not checked.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from iotwarden.lab import proto_net, proto_tls
from iotwarden.lab.generator import PcapWriter
from iotwarden.lab.wire import SYN, SYN_OPTIONS, Frame, Host, TcpStream, tcp_segment, udp_frame

HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#open\t2018-12-21-15-50-14\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\t"
    "resp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\t"
    "resp_ip_bytes\ttunnel_parents   label   detailed-label\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\t"
    "count\tstring\tcount\tcount\tcount\tcount\tset[string]   string   string\n"
)
BOT, CNC, RESOLVER = "192.168.100.103", "185.244.25.235", "8.8.8.8"
BENIGN = ("192.168.100.111", "192.168.100.112")
SCAN_PORTS = (23, 23, 23, 23, 2323, 80, 8080, 37215, 52869)


def _line(ts: float, n: int, cols: tuple[object, ...]) -> str:
    """One data line: ts, uid, then ``cols`` (orig_h .. resp_ip_bytes, label, detailed-label)."""
    *conn, label, detail = cols
    orig_h, orig_p, resp_h, resp_p, proto, service, dur, ob, rb, state, hist, op, oip, rp, rip = conn
    return (f"{ts:.6f}\tC{n:017x}\t{orig_h}\t{orig_p}\t{resp_h}\t{resp_p}\t{proto}\t{service}\t{dur}\t{ob}\t{rb}"
            f"\t{state}\t-\t-\t0\t{hist}\t{op}\t{oip}\t{rp}\t{rip}\t(empty)   {label}   {detail}\n")


def write_log(path: Path, lines: int, seed: int = 7) -> None:
    """``lines`` conn.log lines over a day: ~97% scan, C&C every 10 s, DNS and benign cloud traffic."""
    rng = random.Random(seed)
    start, span = 1545403814.0, 86400.0
    step = span / lines
    with path.open("w") as out:
        out.write(HEADER)
        for n in range(lines):
            ts = start + n * step
            roll = n % 100
            if roll == 0:  # C&C: Mirai-style session attempts to the hard-coded server
                out.write(_line(ts, n, (BOT, rng.randrange(32768, 61000), CNC, 23, "tcp", "-", "2.998",
                                "0", "0", "S0", "S", 3, 180, 0, 0, "Malicious", "C&C")))
            elif roll == 1:  # the bot's and the benign devices' DNS
                out.write(_line(ts, n, (rng.choice((BOT, *BENIGN)), rng.randrange(1024, 65535), RESOLVER, 53,
                                "udp", "dns", "0.05", "36", "120", "SF", "Dd", 1, 64, 1, 148, "Benign", "-")))
            elif roll in (2, 3):  # benign devices' cloud check-ins over TLS
                out.write(_line(ts, n, (BENIGN[roll - 2], rng.randrange(32768, 61000), f"52.3.18.{roll + 10}",
                                443, "tcp", "ssl", "1.2", "517", "3900", "SF", "ShADadFf", 8, 937, 7, 4270,
                                "Benign", "-")))
            else:  # the horizontal scan: unanswered SYNs to random public addresses
                dst = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                out.write(_line(ts, n, (BOT, rng.randrange(32768, 61000), dst, rng.choice(SCAN_PORTS), "tcp", "-",
                                "-", "-", "-", "S0", "S", 1, 40, 0, 0, "Malicious", "PartOfAHorizontalPortScan")))


ROUTER_MAC = "02:00:5e:00:00:01"  # the segment's gateway: every outside address is behind it
MACS = {BOT: "02:00:5e:10:00:67", BENIGN[0]: "02:00:5e:10:00:6f", BENIGN[1]: "02:00:5e:10:00:70"}
REFUSED = 0.1  # share of the scan's SYNs answered by a RST (a closed port), the rest go unanswered


class _Day:
    """The frames of :func:`write_pcap`'s flows, one flow at a time, with what each side sends."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.hosts = {ip: Host(mac, ip) for ip, mac in MACS.items()}
        self.cloud: dict[str, tuple[bytes, bytes]] = {}  # TLS server -> (ClientHello, server flight)

    def outside(self, ip: str) -> Host:
        return Host(ROUTER_MAC, ip)

    def syn(self, t: float, src: Host, dst: Host, dport: int, *, tries: int = 1, refused: bool = False) -> list[Frame]:
        """A connection attempt: the SYN (retried after 1 s, then 2 s more), or SYN then RST-ACK."""
        sport = self.rng.randrange(32768, 61000)
        if refused:
            return TcpStream(self.rng, src, sport, dst, dport).refused(t)
        seq = self.rng.getrandbits(32)
        return [(t + delay, tcp_segment(src, dst, b"", sport=sport, dport=dport, seq=seq, ack=0, flags=SYN,
                                        window=64240, options=SYN_OPTIONS)) for delay in (0.0, 1.0, 3.0)[:tries]]

    def dns(self, t: float, src: Host) -> list[Frame]:
        ident, sport, name = self.rng.getrandbits(16), self.rng.randrange(1024, 65535), "update.example.net"
        question = [(name, proto_net.TYPE_A, proto_net.CLASS_IN)]
        query = proto_net.dns_message(ident, 0x0100, question)
        answer = proto_net.dns_message(ident, 0x8180, question, [(name, proto_net.TYPE_A, proto_net.CLASS_IN, 300,
                                                                  proto_net.rdata_a(CNC))])
        return [(t, udp_frame(src, ROUTER_MAC, RESOLVER, query, sport=sport, dport=53)),
                (t + 0.05, udp_frame(self.outside(RESOLVER), src.mac, src.ip, answer, sport=53, dport=sport))]

    def tls(self, t: float, src: Host, server: str) -> list[Frame]:
        if server not in self.cloud:
            name = f"device-{server.rsplit('.', 1)[1]}.cloud.example.com"
            chain = proto_tls.certificate_chain(name, "Cloud", "Cloud CA", 1.5e9, 1)
            self.cloud[server] = (proto_tls.client_hello(self.rng, name),
                                  proto_tls.server_flight(self.rng, chain, name, 1))
        hello, flight = self.cloud[server]
        stream = TcpStream(self.rng, src, self.rng.randrange(32768, 61000), self.outside(server), 443, rtt=0.03)
        out = stream.handshake(t)
        out += stream.send(stream.t, True, hello)
        out += stream.send(stream.t + 0.015, False, flight)
        return out + stream.close(stream.t + 1.0)


def write_pcap(path: Path, flows: int, seed: int = 7) -> int:
    """``flows`` connections over a day, in :func:`write_log`'s mix and order, as a pcap; returns packets."""
    rng = random.Random(seed)
    day = _Day(rng)
    start, span = 1545403814.0, 86400.0
    step = span / flows
    bot = day.hosts[BOT]
    later: list[Frame] = []  # frames of flows already begun, by time
    with path.open("wb") as fh:
        out = PcapWriter(fh)
        for n in range(flows):
            ts = start + n * step
            while later and later[0][0] <= ts:
                out.write(*heapq.heappop(later))
            roll = n % 100
            if roll == 0:  # C&C: Mirai-style session attempts to the hard-coded server, unanswered
                frames = day.syn(ts, bot, day.outside(CNC), 23, tries=3)
            elif roll == 1:
                frames = day.dns(ts, day.hosts[rng.choice((BOT, *BENIGN))])
            elif roll in (2, 3):
                frames = day.tls(ts, day.hosts[BENIGN[roll - 2]], f"52.3.18.{roll + 10}")
            else:
                dst = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                frames = day.syn(ts, bot, day.outside(dst), rng.choice(SCAN_PORTS), refused=rng.random() < REFUSED)
            for frame in frames:
                heapq.heappush(later, frame)
        while later:
            out.write(*heapq.heappop(later))
        out.flush()
        return out.packets


def data_lines(path: Path) -> int:
    """A conn.log's data lines (``#`` header lines apart); -1 when there is no such file."""
    if not path.is_file():
        return -1
    with path.open("rb") as log:
        return sum(1 for line in log if not line.startswith(b"#"))


def measure(log: Path, db: Path) -> dict[str, float]:
    tool = str(Path(sys.executable).with_name("iotwarden"))
    cmd = [sys.executable, str(Path(__file__).with_name("rusage_wrap.py")), tool, "analyze", str(log),
           "--db", str(db), "--format", "json", "--output", str(db.with_suffix(".json"))]
    for old in (db, db.with_suffix(".json")):  # a kept folder's last run: start from an empty store
        old.unlink(missing_ok=True)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"analyze failed ({done.returncode}): {done.stderr[-2000:]}")
    usage = json.loads(done.stderr.strip().splitlines()[-1])
    listed = subprocess.run([tool, "alerts", "--db", str(db), "-f", "json"], capture_output=True, text=True,
                            check=True)
    alerts = sorted({a["id"] for a in json.loads(listed.stdout)["alerts"]})
    report = json.loads(db.with_suffix(".json").read_text())["totals"]
    return {"wall_s": usage["rusage_wall"], "cpu_s": usage["rusage_cpu"],
            "maxrss_mib": usage["rusage_maxrss_kib"] / 1024, "alerts": alerts,
            "flows": report["flows"], "packets": report["packets"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[250_000, 1_000_000],
                        help="conn.log lines (with --pcap: flows) of each run")
    parser.add_argument("--pcap", action="store_true", help="write and analyse captures instead of conn.logs")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--keep", type=Path, help="write the logs and databases here instead of a temp dir")
    where.add_argument("--reuse", type=Path, help="like --keep, but analyse a log already there when its line "
                       "count matches instead of writing it again (conn.logs only)")
    args = parser.parse_args()
    if args.reuse and args.pcap:
        parser.error("--reuse applies to conn.logs; use --keep with --pcap")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.reuse or args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if args.pcap:
            print(f"{'flows':>10} {'packets':>10} {'wall s':>8} {'CPU s':>8} {'flows/CPU s':>12} {'pkts/CPU s':>11} "
                  f"{'RSS MiB':>8}  alerts")
        else:
            print(f"{'lines':>10} {'wall s':>8} {'CPU s':>8} {'lines/CPU s':>12} {'RSS MiB':>8}  alerts")
        for lines in args.lines:
            if args.pcap:
                capture = folder / f"iot23-{lines}.pcap"
                write_pcap(capture, lines)
                m = measure(capture, folder / f"iw-pcap-{lines}.db")
                print(f"{m['flows']:>10} {m['packets']:>10} {m['wall_s']:>8.1f} {m['cpu_s']:>8.1f} "
                      f"{m['flows'] / m['cpu_s']:>12.0f} {m['packets'] / m['cpu_s']:>11.0f} {m['maxrss_mib']:>8.0f}  "
                      f"{', '.join(m['alerts'])}")  # type: ignore[arg-type]
                continue
            log = folder / f"conn-{lines}.log.labeled"
            if args.reuse and data_lines(log) == lines:
                print(f"reusing {log}", file=sys.stderr)
            else:
                write_log(log, lines)
            m = measure(log, folder / f"iw-{lines}.db")
            print(f"{lines:>10} {m['wall_s']:>8.1f} {m['cpu_s']:>8.1f} {lines / m['cpu_s']:>12.0f} "
                  f"{m['maxrss_mib']:>8.0f}  {', '.join(m['alerts'])}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
