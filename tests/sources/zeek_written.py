"""Zeek logs written from a list of connections in the order Zeek writes them, or sorted by ts to compare.

Every line's ts is its start (conn.log: the connection's first packet; dns/http/ssl: the transaction's
start, ssl.log the connection's), but Zeek writes a conn.log line when the connection is removed: its last
packet plus the timer that expires it (base/init-bare.zeek defaults below), so a long session's line comes
after thousands of later-starting short ones; a dns.log line is written at its reply, an http.log line at
its response's end, an ssl.log line at the handshake's end: usually before their connection's conn.log line.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iotwarden.sources.zeek_order import REORDER_WINDOW_S
from tests.sources.zeeklog import CONN_COLUMNS, ID_COLUMNS, write_log

# Zeek's removal timers (base/init-bare.zeek): a closed, refused or unanswered TCP connection goes
# tcp_close_delay / tcp_reset_delay / tcp_attempt_delay after its last packet, an open idle one
# tcp_inactivity_timeout after it; UDP udp_inactivity_timeout (DNS: the analyzer's dns_session_timeout), ICMP
# icmp_inactivity_timeout.
TCP_CLOSE_DELAY = 5.0
TCP_INACTIVITY_TIMEOUT = 300.0
UDP_INACTIVITY_TIMEOUT = 60.0
DNS_SESSION_TIMEOUT = 10.0
ICMP_INACTIVITY_TIMEOUT = 60.0
CLOSED_STATES = ("SF", "REJ", "S0", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR")

DNS_COLUMNS = [*ID_COLUMNS, ("proto", "enum"), ("trans_id", "count"), ("rtt", "interval"), ("query", "string"),
               ("qclass", "count"), ("qclass_name", "string"), ("qtype", "count"), ("qtype_name", "string"),
               ("rcode", "count"), ("rcode_name", "string"), ("AA", "bool"), ("TC", "bool"), ("RD", "bool"),
               ("RA", "bool"), ("Z", "count"), ("answers", "vector[string]"), ("TTLs", "vector[interval]"),
               ("rejected", "bool")]
HTTP_COLUMNS = [*ID_COLUMNS, ("trans_depth", "count"), ("method", "string"), ("host", "string"), ("uri", "string"),
                ("version", "string"), ("user_agent", "string"), ("request_body_len", "count"),
                ("response_body_len", "count"), ("status_code", "count"), ("status_msg", "string")]
SSL_COLUMNS = [*ID_COLUMNS, ("version", "string"), ("cipher", "string"), ("server_name", "string"),
               ("established", "bool"), ("ja3", "string")]
COLUMNS = {"conn": CONN_COLUMNS, "dns": DNS_COLUMNS, "http": HTTP_COLUMNS, "ssl": SSL_COLUMNS}

End = tuple[str, int, str]  # ip, port, MAC


def removed_at(last: float, proto: str, state: str, service: str) -> float:
    """When Zeek removes (and logs) a connection whose last packet came at ``last``."""
    if proto == "tcp":
        return last + (TCP_CLOSE_DELAY if state in CLOSED_STATES else TCP_INACTIVITY_TIMEOUT)
    if proto == "udp":
        return last + (DNS_SESSION_TIMEOUT if service == "dns" else UDP_INACTIVITY_TIMEOUT)
    return last + ICMP_INACTIVITY_TIMEOUT


@dataclass
class Txn:
    """One transaction an application log records: it starts ``at`` seconds into its connection (its ts)
    and is written ``took`` seconds later; ``fields`` are its columns past the connection's id."""

    log: str
    at: float
    took: float
    fields: dict[str, str]


@dataclass
class Conn:
    uid: str
    ts: float
    duration: float
    orig: End
    resp: End
    proto: str = "tcp"
    service: str = "-"
    state: str = "SF"
    txns: list[Txn] = field(default_factory=list)

    def written(self) -> float:
        """When Zeek writes this connection's conn.log line: at its removal."""
        return removed_at(self.ts + self.duration, self.proto, self.state, self.service)

    def conn_row(self) -> list[str]:
        history = {"SF": "ShADadFf", "S0": "S", "REJ": "Sr", "S1": "ShAD"}.get(self.state, "D")
        if self.proto != "tcp":
            history = "Dd"
        return [f"{self.ts:.6f}", self.uid, self.orig[0], str(self.orig[1]), self.resp[0], str(self.resp[1]),
                self.proto, self.service, f"{self.duration:.6f}", "60", "120", self.state, history, "4", "220", "4",
                "280", self.orig[2], self.resp[2]]

    def txn_row(self, txn: Txn) -> list[str]:
        ident = [f"{self.ts + txn.at:.6f}", self.uid, self.orig[0], str(self.orig[1]), self.resp[0],
                 str(self.resp[1])]
        if txn.log == "dns":
            ident.append(self.proto)
        ssl_ts = [f"{self.ts:.6f}"] if txn.log == "ssl" else []  # ssl.log's ts is its connection's start
        names = [c[0] for c in COLUMNS[txn.log][len(ident):]]
        return ssl_ts + ident[len(ssl_ts):] + [txn.fields.get(n, "-") for n in names]


def lines(conns: list[Conn], order: str) -> dict[str, list[list[str]]]:
    """Each log's rows in Zeek's write order (``written``) or by ts (``sorted``)."""
    timed: dict[str, list[tuple[float, float, list[str]]]] = {log: [] for log in COLUMNS}
    for c in conns:
        timed["conn"].append((c.written(), c.ts, c.conn_row()))
        for txn in c.txns:
            timed[txn.log].append((c.ts + txn.at + txn.took, c.ts + txn.at, c.txn_row(txn)))
    key = (lambda t: (t[0], t[1])) if order == "written" else (lambda t: t[1])
    return {log: [row for *_, row in sorted(rows, key=key)] for log, rows in timed.items()}


def write_logs(folder: Path, conns: list[Conn], *, order: str = "written", fmt: str = "tsv") -> Path:
    """``folder`` with conn.log, dns.log, http.log and ssl.log of ``conns`` in ``order``."""
    for log, rows in lines(conns, order).items():
        if rows:
            write_log(folder, log, COLUMNS[log], rows, fmt)
    return folder


GATEWAY: End = ("10.20.0.1", 53, "00:0d:b9:4a:10:01")
AGENTS = ("Roku/DVP-9.10 (289.10E04111A)", "Sonos/63.2-88230 (ZPS1)", "SmartThings Hub/0.46.4",
          "Dalvik/2.1.0 (Linux; U; Android 9; BRAVIA 4K GB Build/PTT1.190515.001.S52)")


def site_day(seed: int = 7, *, devices: int = 12, hours: float = 3.0) -> list[Conn]:
    """A small site's connections: each device's DNS lookups, HTTP requests and short TLS sessions, a
    session kept open for hours per device (TLS to its cloud), some idle sessions timed out, refused and
    unanswered connects, one address taken over by a new device halfway; every transaction with the
    connection's MACs known only from conn.log."""
    rng, conns, n = random.Random(seed), [], 0
    start, end = 1_700_000_000.0, 1_700_000_000.0 + hours * 3600

    def add(t: float, dur: float, orig: End, resp: End, **kw: object) -> Conn:
        nonlocal n
        n += 1
        conns.append(Conn(f"C{seed:02d}{n:07d}", t, dur, orig, resp, **kw))  # type: ignore[arg-type]
        return conns[-1]

    half = (start + end) / 2
    # the last device gets the first one's address when that one leaves at half time (a DHCP lease reused)
    spans = [(d, f"10.20.0.{10 + d}", start, half if d == 0 else end) for d in range(devices)]
    spans.append((devices, "10.20.0.10", half + 60, end))
    for d, ip, since, until in spans:
        mac = f"02:00:00:00:{seed:02x}:{d:02x}"
        agent, cloud = AGENTS[d % len(AGENTS)], f"52.{d}.18.{10 + d}"
        name = f"api{d}.cloud.example"
        # the long session: opened early, kept (keepalives) until late
        t0 = since + rng.uniform(0, 300)
        add(t0, rng.uniform(0.6, 0.95) * (until - t0), (ip, 40000 + d, mac), (cloud, 443, GATEWAY[2]),
            service="ssl", txns=[Txn("ssl", 0.0, 0.2, {"version": "TLSv12", "server_name": name,
                                                       "established": "T"})])
        t, port = since + rng.uniform(0, 60), 41000
        while t < until:
            port += 1
            kind = rng.random()
            if kind < 0.45:  # a lookup: answered within milliseconds
                rtt = rng.uniform(0.002, 0.05)
                add(t, rtt, (ip, port, mac), GATEWAY, proto="udp", service="dns",
                    txns=[Txn("dns", 0.0, rtt, {"trans_id": str(rng.randrange(65536)), "rtt": f"{rtt:.6f}",
                                                "query": name, "qclass": "1", "qclass_name": "C_INTERNET",
                                                "qtype": "1", "qtype_name": "A", "rcode": "0",
                                                "rcode_name": "NOERROR", "AA": "F", "TC": "F", "RD": "T",
                                                "RA": "T", "Z": "0", "answers": cloud, "TTLs": "300.000000",
                                                "rejected": "F"})])
            elif kind < 0.7:  # an HTTP request; now and then a download lasting minutes
                took = rng.uniform(0.05, 0.5) if rng.random() < 0.9 else rng.uniform(60, 900)
                add(t, took + 0.1, (ip, port, mac), (cloud, 80, GATEWAY[2]), service="http",
                    txns=[Txn("http", 0.05, took, {"trans_depth": "1", "method": "GET", "host": name,
                                                   "uri": "/status", "version": "1.1", "user_agent": agent,
                                                   "request_body_len": "0", "response_body_len": "512",
                                                   "status_code": "200", "status_msg": "OK"})])
            elif kind < 0.85:  # a short TLS session, or one left open and timed out idle
                idle = rng.random() < 0.2
                add(t, rng.uniform(0.3, 30), (ip, port, mac), (cloud, 443, GATEWAY[2]), service="ssl",
                    state="S1" if idle else "SF",
                    txns=[Txn("ssl", 0.0, 0.15, {"version": "TLSv13", "server_name": name, "established": "T"})])
            else:  # a refused or unanswered connect
                refused = rng.random() < 0.5
                add(t, 0.001 if refused else 3.0, (ip, port, mac), (f"10.20.0.{rng.randrange(2, 60)}", 23,
                    "02:00:00:00:ff:ff"), state="REJ" if refused else "S0")
            t += rng.expovariate(1 / 20.0)
    return conns


@dataclass
class Latency:
    """Seconds from Zeek writing a record to its Flow or Observations reaching the analyzers, per record."""

    flows: list[float] = field(default_factory=list)
    observations: list[float] = field(default_factory=list)
    long_sessions: list[float] = field(default_factory=list)  # Observations of sessions logged past the window
    unstamped: int = 0  # Observations released without MACs
    by_uid: dict[str, list[float]] = field(default_factory=dict)  # each connection's Observations


def replay(folder: Path, conns: list[Conn], follower: Any, *, poll_s: float = 2.0) -> Latency:
    """``follower`` (a :class:`~iotwarden.sources.zeek_live.ZeekFollower` whose clock is this replay's) fed
    ``folder``'s logs (written from ``conns`` in write order) as a monitor polling every ``poll_s`` would read
    them, the wall clock being Zeek's network time (each line readable from its write time on): no sleep."""
    from iotwarden.sources import zeek

    written: dict[tuple[str, str], float] = {}  # (log, uid) -> when Zeek wrote it
    for c in conns:
        written["conn", c.uid] = c.written()
        for txn in c.txns:
            written[txn.log, c.uid] = c.ts + txn.at + txn.took
    items = {log: list(zeek._file_items(folder / f"{log}.log", log)) for log in COLUMNS
             if (folder / f"{log}.log").exists()}
    times = {log: sorted(w for (lg, _), w in written.items() if lg == log) for log in items}  # the files' order
    tagged: dict[int, tuple[Any, str, float]] = {}  # id(Observation) -> (it, uid, when its record was written)
    real_map = follower.joiner.map

    def tag(log_type: str, rec: dict[str, Any]) -> Any:
        observations, flows = real_map(log_type, rec)
        for obs in observations:
            uid = str(rec.get("uid"))
            tagged[id(obs)] = (obs, uid, written.get((log_type, uid), math.nan))
        return observations, flows

    follower.joiner.map = tag
    late = {c.uid for c in conns if c.written() - c.ts > REORDER_WINDOW_S}
    late_written = {w for (log, uid), w in written.items() if log != "conn" and uid in late}
    out = Latency()
    at = dict.fromkeys(items, 0)
    now = min(w for ts in times.values() for w in ts[:1])
    end = max(w for ts in times.values() for w in ts[-1:])

    def take(batches: Iterable[Any]) -> None:
        for batch in batches:
            out.flows += [now - written["conn", f.extra["uid"]] for f in batch.flows]
            for obs in batch.observations:
                _, uid, w = tagged.pop(id(obs))
                out.observations.append(now - w)
                out.by_uid.setdefault(uid, []).append(now - w)
                out.unstamped += not obs.src_mac
                if w in late_written:
                    out.long_sessions.append(now - w)

    follower.clock = lambda: now  # the replay's wall clock: Zeek's network time
    while now <= end + poll_s:
        streams = []
        for log, log_items in items.items():
            stop = bisect_right(times[log], now)
            streams.append(iter(log_items[at[log]:stop]))
            at[log] = stop
        take(follower.read(streams))
        now += poll_s
    take(follower.release(end=True))
    return out
