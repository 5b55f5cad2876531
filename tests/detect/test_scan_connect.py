"""nmap -sT, the connect scan (issue #4): an open port completes the handshake and nmap resets it at once, with no
byte either way (Zeek RSTO, history ShAR), as a load balancer's TCP check does. A scanner touches each port once, a
check comes back to its target: the connect scan's open ports are probes, HAProxy's checks stay silent. From packets
as nmap writes them, from Zeek's records, and from a real nmap run between two network namespaces the test makes."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from iotwarden.detect.scan import ScanDetector
from iotwarden.lab.wire import Host, TcpStream
from iotwarden.model import Flow
from iotwarden.model.alert import Alert
from tests.detect.labelled import write_conn_log
from tests.detect.runner import detect, feed, tcp_flow
from tests.risk.harness import write_pcap

SCANNER, TARGET = Host("02:00:00:00:00:01", "192.0.2.1"), Host("02:00:00:00:00:02", "192.0.2.2")
PORTS = range(1, 21)
OPEN = frozenset(range(2, 21, 2))  # 10 open, 10 closed: the closed ones alone are no vertical scan (15 ports)


def _scan_pcap(path: Path, t0: float = 1_700_000_000.0) -> Path:
    """nmap -sT of PORTS on TARGET as nmap writes it: an open port's SYN, SYN-ACK, ACK, then nmap's RST-ACK ~5 ms
    later; a closed port's SYN answered RST-ACK; each connect from the next ephemeral port, 1 ms apart."""
    rng, frames = random.Random(1), []
    for i, port in enumerate(PORTS):
        conn = TcpStream(rng, SCANNER, 40000 + i, TARGET, port, rtt=0.0002)
        t = t0 + i * 0.001
        frames += conn.handshake(t) + conn.reset(t + 0.005) if port in OPEN else conn.refused(t)
    return write_pcap(path, frames)  # in time order


def _scan_records(t0: float = 1_700_000_000.0) -> list[Flow]:
    """The same scan as Zeek logs it: RSTO (history ShAR) for an open port, REJ for a closed one."""
    out = []
    for i, port in enumerate(PORTS):
        opened = port in OPEN
        f = tcp_flow(SCANNER.ip, TARGET.ip, port, t0 + i * 0.001, sport=40000 + i,
                     flags=(0x16, 0x12) if opened else (0x02, 0x14), pkts=(3, 1) if opened else (1, 1))
        f.extra["conn_state"] = "RSTO" if opened else "REJ"
        out.append(f)
    return out


def _vertical(alerts: list[Alert]) -> list[tuple[str, str]]:
    return [(a.id, a.key) for a in alerts if a.id == "detect.scan.vertical"]


@pytest.mark.parametrize("form", ["pcap", "conn"])
def test_a_connect_scans_open_ports_are_probes(tmp_path: Path, form: str) -> None:
    """20 ports, 10 of them open: a vertical scan only when the open ones count (none before this change)."""
    path = _scan_pcap(tmp_path / "st.pcap") if form == "pcap" else write_conn_log(tmp_path / "conn.log",
                                                                                  _scan_records())
    assert _vertical(detect([path]).alerts) == [("detect.scan.vertical", TARGET.ip)]


def _checks(rounds: list[float], n: int = 12, port: int = 8080) -> list[Flow]:
    """A round at each of ``rounds`` (seconds) of connections completed then reset (RSTO, ShAR) to ``n`` hosts'
    ``port``, each from a port of its own."""
    out = []
    for r, at in enumerate(rounds):
        for i in range(1, n + 1):
            f = tcp_flow("10.0.0.8", f"10.0.3.{i}", port, 100.0 + at + i * 0.01, sport=20000 + (r * n + i) % 40000,
                         flags=(0x16, 0x12), pkts=(3, 1))
            f.extra.update(conn_state="RSTO", history="ShAR")
            out.append(f)
    return out


def test_one_round_of_connections_reset_is_a_scan_and_rounds_at_a_cadence_are_checks() -> None:
    """One port open on 12 hosts, connected once and reset: nmap -sT -p 8080 of them, a horizontal scan. The same
    connections every 5 s for a minute (HAProxy's checks) and every 30 s for an hour: nothing. A target checked
    again is no new probe, and the first rounds' scan is held until the third shows the cadence."""
    [alert] = feed([ScanDetector()], flows=_checks([0.0]))
    assert (alert.id, alert.key) == ("detect.scan.horizontal", "8080")
    assert feed([ScanDetector()], flows=_checks([r * 5.0 for r in range(12)])) == []
    assert feed([ScanDetector()], flows=_checks([r * 30.0 for r in range(120)], n=40, port=9000)) == []


def test_a_check_repeating_its_target_is_no_probe_even_unsteady() -> None:
    """The same 12 backends checked at 0, 4, 13 and 15 s (no cadence: health checks speeding up after a failure):
    the repeats are no probes, so the one round's scan is all there is."""
    [alert] = feed([ScanDetector()], flows=_checks([0.0, 4.0, 13.0, 15.0]))
    assert alert.count == 1


LISTENER = f"""import socket, time
sockets = []
for port in {sorted(OPEN)!r}:
    s = socket.socket()
    s.bind(("192.0.2.2", port))
    s.listen(8)
    sockets.append(s)
print("up", flush=True)
time.sleep(30)
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


@pytest.mark.netns
def test_a_real_nmap_connect_scan_is_a_vertical_scan(tmp_path: Path) -> None:
    """nmap -sT of 20 ports of a host in a namespace of its own (192.0.2.2, 10 ports listening) from another
    (192.0.2.1), over a veth pair, captured by tcpdump on the scanner's side: a vertical scan of 192.0.2.2."""
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    for tool in ("ip", "nmap", "tcpdump"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    tag = f"iwc{os.getpid() % 100000}"
    a, b, va, vb = f"{tag}a", f"{tag}b", f"{tag}va", f"{tag}vb"
    try:
        _ip("netns", "add", a)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"cannot create a network namespace here: {exc}")
    procs: list[subprocess.Popen[bytes]] = []
    pcap = tmp_path / "nmap_st.pcap"
    try:
        _ip("netns", "add", b)
        _ip("link", "add", va, "netns", a, "type", "veth", "peer", "name", vb, "netns", b)
        for ns, dev, addr in ((a, va, "192.0.2.1/24"), (b, vb, "192.0.2.2/24")):
            _ip("-n", ns, "addr", "add", addr, "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
        procs.append(subprocess.Popen(["ip", "netns", "exec", b, "python3", "-c", LISTENER], stdout=subprocess.PIPE))
        assert procs[-1].stdout is not None and procs[-1].stdout.readline().strip() == b"up"
        # immediate mode: each packet written as it comes, not when the kernel's buffer block fills or times out;
        # its ring holds a buffer's worth of snaplen-sized frames (2 MiB of 256 KiB: 8), so a short snaplen and a
        # larger buffer, or the scan's burst overruns it; -c: done once the scan's packets are in (an open port's
        # SYN, SYN-ACK, ACK, RST; a closed one's SYN, RST)
        packets = 4 * len(OPEN) + 2 * (len(PORTS) - len(OPEN))
        dump = subprocess.Popen(["ip", "netns", "exec", a, "tcpdump", "-i", va, "--immediate-mode", "-s", "256", "-B",
                                 "16384", "-U", "-c", str(packets), "-w", str(pcap), "tcp"], stderr=subprocess.PIPE)
        procs.append(dump)
        assert dump.stderr is not None and b"listening" in dump.stderr.readline()
        time.sleep(1.0)  # tcpdump says it listens a moment before it sees every packet of a fresh veth
        done = subprocess.run(["ip", "netns", "exec", a, "nmap", "-sT", "-Pn", "-n", "--max-retries", "0", "-p",
                               f"{PORTS[0]}-{PORTS[-1]}", "192.0.2.2"], check=True, capture_output=True, text=True,
                              timeout=60)
        assert len(re.findall(r"/tcp +open ", done.stdout)) == len(OPEN)
        dump.wait(timeout=20)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20, check=False)
    assert _vertical(detect([pcap]).alerts) == [("detect.scan.vertical", "192.0.2.2")]
