"""Live capture on veth pairs and loopback inside network namespaces the tests create and remove.

Traffic goes only between the two test hosts (192.0.2.1 and 192.0.2.2, RFC 5737 documentation
addresses, in namespaces of their own) or to 127.0.0.1 inside a namespace; nothing leaves them.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dpkt
import pytest

from iotwarden.engine.batch import LINKTYPE_ETHERNET, LINKTYPE_IEEE802_11, LINKTYPE_IEEE802_11_RADIOTAP, PacketBatch
from iotwarden.errors import CaptureError, ConfigError
from iotwarden.sources import live
from iotwarden.sources.live import capture_live, compile_filter

pytestmark = [pytest.mark.netns, pytest.mark.live]

CLONE_NEWNET = 0x40000000
A_IP, B_IP = "192.0.2.1", "192.0.2.2"
_libc = ctypes.CDLL(None, use_errno=True)
_names = itertools.count()


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


@contextmanager
def inside(netns: str) -> Iterator[None]:
    """Run the block in network namespace ``netns`` (this thread only); sockets made there stay there."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns failed")
        yield
    finally:
        if _libc.setns(own, CLONE_NEWNET) != 0:
            raise RuntimeError("could not return to the test's own network namespace")
        os.close(own)
        os.close(target)


@dataclass
class Lab:
    a: str  # namespace of host A (192.0.2.1 on veth ``va``)
    b: str
    va: str
    vb: str


def mac_in(netns: str, dev: str) -> bytes:
    done = subprocess.run(["ip", "-n", netns, "-o", "link", "show", dev], check=True, capture_output=True, text=True,
                          timeout=10)
    words = done.stdout.split()
    return bytes.fromhex(words[words.index("link/ether") + 1].replace(":", ""))


@pytest.fixture
def lab() -> Iterator[Lab]:
    if os.geteuid() != 0:
        pytest.skip("live capture tests need root (network namespaces and packet sockets)")
    if shutil.which("ip") is None:
        pytest.skip("live capture tests need iproute2's ip command")
    tag = f"iw{os.getpid() % 100000}{next(_names)}"
    names = Lab(a=f"{tag}a", b=f"{tag}b", va=f"{tag}va", vb=f"{tag}vb")
    try:
        _ip("netns", "add", names.a)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"cannot create a network namespace here: {exc}")
    try:
        _ip("netns", "add", names.b)
        _ip("link", "add", names.va, "netns", names.a, "type", "veth", "peer", "name", names.vb, "netns", names.b)
        for ns, dev, addr in ((names.a, names.va, A_IP), (names.b, names.vb, B_IP)):
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield names
    finally:
        for ns in (names.a, names.b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20, check=False)


@pytest.fixture
def compiler() -> None:
    """Filters compile with libpcap, or tcpdump without it; a test that filters needs one of them."""
    if live._libpcap() is None and shutil.which("tcpdump") is None:
        pytest.skip("capture filters need libpcap (Debian libpcap0.8) or tcpdump")


def udp_socket(netns: str, bind: tuple[str, int] | None = None) -> socket.socket:
    with inside(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if bind is not None:
            sock.bind(bind)
    return sock


def collect(batches: Iterator[PacketBatch], stop: threading.Event, after: float) -> list[PacketBatch]:
    """Every batch until ``stop`` is set, ``after`` seconds from now (a bound on the test's time)."""
    timer = threading.Timer(after, stop.set)
    timer.start()
    try:
        return list(batches)
    finally:
        timer.cancel()


def frames(batches: list[PacketBatch]) -> list[bytes]:
    return [bytes(b.data[b.offsets[i]: b.offsets[i] + b.caplen[i]]) for b in batches for i in range(len(b))]


def test_udp_filter_keeps_exactly_the_matching_packets(lab: Lab, compiler: None) -> None:
    receiver = udp_socket(lab.a, (A_IP, 9999))
    other = udp_socket(lab.a, (A_IP, 9998))
    with inside(lab.a):
        listener = socket.create_server((A_IP, 9999))
    sender = udp_socket(lab.b)
    stop = threading.Event()
    with inside(lab.a):
        batches = capture_live(lab.va, bpf="udp port 9999", stop=stop, batch_timeout=0.2)
    t0 = time.time()
    for i in range(2):
        sender.sendto(b"not this one %d" % i, (A_IP, 9998))
    with inside(lab.b):
        tcp = socket.create_connection((A_IP, 9999), timeout=5)  # TCP to the same port: excluded
    for i in range(3):
        sender.sendto(b"payload %d" % i, (A_IP, 9999))
    got = collect(batches, stop, after=1.0)
    t1 = time.time()
    packets = frames(got)
    assert len(packets) == 3
    b_mac = mac_in(lab.b, lab.vb)
    for i, raw in enumerate(packets):
        eth = dpkt.ethernet.Ethernet(raw)
        assert eth.src == b_mac
        assert isinstance(eth.data.data, dpkt.udp.UDP)
        assert (socket.inet_ntoa(eth.data.src), eth.data.data.dport, eth.data.data.data) == (
            B_IP, 9999, b"payload %d" % i)
    for batch in got:
        assert set(batch.linktype.tolist()) == {LINKTYPE_ETHERNET}
        assert (batch.caplen == batch.wirelen).all()
        assert ((batch.ts >= t0 - 1) & (batch.ts <= t1 + 1)).all()
    for sock in (receiver, other, listener, sender, tcp):
        sock.close()


def test_arp_filter_sees_the_request_and_the_reply(lab: Lab, compiler: None) -> None:
    sender = udp_socket(lab.b)
    stop = threading.Event()
    with inside(lab.a):
        batches = capture_live(lab.va, bpf="arp", stop=stop, batch_timeout=0.2, max_packets=2)
    sender.sendto(b"x", (A_IP, 9999))  # B does not know A's MAC yet: it asks first
    arps = [dpkt.ethernet.Ethernet(raw).data for raw in frames(collect(batches, stop, after=3.0))]
    assert [(a.op, socket.inet_ntoa(a.spa), socket.inet_ntoa(a.tpa)) for a in arps] == [
        (dpkt.arp.ARP_OP_REQUEST, B_IP, A_IP), (dpkt.arp.ARP_OP_REPLY, A_IP, B_IP)]
    sender.close()


def test_loopback_packets_are_seen_once_with_snaplen_and_wire_length(lab: Lab, compiler: None) -> None:
    receiver = udp_socket(lab.a, ("127.0.0.1", 9999))
    sender = udp_socket(lab.a)
    stop = threading.Event()
    with inside(lab.a):
        batches = capture_live("lo", bpf="udp and dst port 9999", snaplen=64, stop=stop, batch_timeout=0.2)
    for _ in range(2):
        sender.sendto(bytes(500), ("127.0.0.1", 9999))
    got = collect(batches, stop, after=1.0)
    assert sum(len(b) for b in got) == 2  # not 4: outgoing copies on lo are dropped, as libpcap does
    for batch in got:
        assert batch.caplen.tolist() == [64] * len(batch)
        assert batch.wirelen.tolist() == [14 + 20 + 8 + 500] * len(batch)
        assert batch.data[:12].tolist() == [0] * 12  # loopback frames carry zeroed MACs
    receiver.close()
    sender.close()


def test_batches_close_on_size_and_on_timeout(lab: Lab, compiler: None) -> None:
    receiver = udp_socket(lab.a, (A_IP, 9999))
    sender = udp_socket(lab.b)
    stop = threading.Event()
    with inside(lab.a):
        batches = capture_live(lab.va, bpf="udp port 9999", batch_size=2, batch_timeout=0.3, stop=stop)
    for i in range(5):
        sender.sendto(b"%d" % i, (A_IP, 9999))
    got = collect(batches, stop, after=1.5)
    assert [len(b) for b in got] == [2, 2, 1]  # the fifth goes out once batch_timeout has passed
    receiver.close()
    sender.close()


def test_max_packets_ends_the_capture(lab: Lab, compiler: None) -> None:
    receiver = udp_socket(lab.a, (A_IP, 9999))
    sender = udp_socket(lab.b)
    stop = threading.Event()
    with inside(lab.a):
        batches = capture_live(lab.va, bpf="udp port 9999", max_packets=3, stop=stop)
    for i in range(6):
        sender.sendto(b"%d" % i, (A_IP, 9999))
    started = time.monotonic()
    got = collect(batches, stop, after=5.0)
    assert sum(len(b) for b in got) == 3
    assert time.monotonic() - started < 4  # ended by max_packets, not by the safety stop
    receiver.close()
    sender.close()


def test_an_802_1q_tag_survives_capture(lab: Lab) -> None:
    # the receiving kernel moves the tag of an incoming tagged frame into packet metadata before
    # packet sockets see it; the capture must put it back where it was on the wire
    with inside(lab.b):
        raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        raw.bind((lab.vb, 0))
    udp = dpkt.udp.UDP(sport=40000, dport=9999, data=b"tagged")
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(src=socket.inet_aton("198.51.100.2"), dst=socket.inet_aton("198.51.100.1"), p=17, data=udp)
    frame = (mac_in(lab.a, lab.va) + mac_in(lab.b, lab.vb) + struct.pack("!HH", 0x8100, 0x2007)
             + struct.pack("!H", 0x0800) + bytes(ip))
    stop = threading.Event()
    with inside(lab.a):
        batches = capture_live(lab.va, stop=stop, batch_timeout=0.2)  # no filter: every frame
    raw.send(frame)
    got = [f for f in frames(collect(batches, stop, after=1.0)) if f.endswith(b"tagged")]
    assert got == [frame]  # priority 1, VLAN 7, inner IPv4, byte for byte
    raw.close()


# --- errors -----------------------------------------------------------------------------------------

def test_a_missing_interface_is_a_capture_error() -> None:
    with pytest.raises(CaptureError, match="no such network interface"):
        capture_live("iw-no-such-if0")


def test_an_invalid_filter_is_a_capture_error(lab: Lab, compiler: None) -> None:
    with inside(lab.a), pytest.raises(CaptureError, match="invalid capture filter 'udp port fish'"):
        capture_live("lo", bpf="udp port fish")


def test_bad_options_are_config_errors() -> None:
    for kwargs in ({"snaplen": 0}, {"snaplen": live.MAX_SNAPLEN + 1}, {"batch_size": 0}, {"batch_timeout": 0},
                   {"max_packets": -1}):
        with pytest.raises(ConfigError):
            capture_live("lo", **kwargs)  # type: ignore[arg-type]


def _drop_cap_net_raw() -> None:
    """In the child before exec: take CAP_NET_RAW out of the bounding set, so not even root has it."""
    if _libc.prctl(24, 13, 0, 0, 0) != 0:  # PR_CAPBSET_DROP, CAP_NET_RAW (linux/capability.h)
        raise OSError(ctypes.get_errno(), "PR_CAPBSET_DROP failed")


def test_without_privilege_the_error_says_so() -> None:
    code = ("from iotwarden.sources.live import capture_live\n"
            "from iotwarden.errors import CaptureError\n"
            "try:\n    capture_live('lo')\nexcept CaptureError as exc:\n    print(exc)\n")
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False,
                              preexec_fn=_drop_cap_net_raw)
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot drop CAP_NET_RAW here: {exc}")
    assert "permission denied capturing on 'lo': live capture needs root or CAP_NET_RAW" in done.stdout, done.stderr


# --- the filter compiler ----------------------------------------------------------------------------

def test_no_filter_accepts_everything_cut_to_snaplen() -> None:
    assert compile_filter(None, dlt=1, snaplen=96, interface="lo") == [(live.BPF_RET_K, 0, 0, 96)]


def test_a_filter_past_its_length_limit_is_refused_before_libpcap_sees_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "_libpcap", lambda: pytest.fail("compiled"))
    longest = ("port 1 or " * live.MAX_FILTER_CHARS)[: live.MAX_FILTER_CHARS + 1]
    for bad, why in ((longest, "at most 2,048"), ("port 1\0", "NUL")):
        with pytest.raises(ConfigError, match=why):
            compile_filter(bad, dlt=1, snaplen=96, interface="lo")
        with pytest.raises(ConfigError, match=why):
            live.interface_filter("lo", bad)


def test_a_filter_is_compiled_for_the_interface_before_the_capture_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    """What monitor and sensor compile up front is what the capture would have compiled; it is used as is."""
    if not Path("/sys/class/net/lo/type").exists():
        pytest.skip("no sysfs here")
    program = live.interface_filter("lo", "udp port 9999")
    assert program == compile_filter("udp port 9999", dlt=1, snaplen=65535, interface="lo")  # loopback: Ethernet
    with pytest.raises(CaptureError, match="invalid capture filter 'udp port fish'"):
        live.interface_filter("lo", "udp port fish")
    with pytest.raises(CaptureError, match="no such network interface"):
        live.interface_filter("iw-no-such-if0", "udp")


def test_libpcap_and_tcpdump_compile_the_same_program(lab: Lab) -> None:
    lib = live._libpcap()
    if lib is None or shutil.which("tcpdump") is None:
        pytest.skip("needs both libpcap (libpcap0.8) and tcpdump to compare")
    with inside(lab.a):
        for expr in ("udp port 9999", "arp or (tcp and dst port 22)", "ip6 and udp"):
            assert live.compile_with_libpcap(lib, expr, 1, 65535) == live.compile_with_tcpdump(expr, "lo", 65535)


def test_without_libpcap_tcpdump_compiles(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump is not installed")
    monkeypatch.setattr(live, "_libpcap", lambda: None)
    receiver = udp_socket(lab.a, ("127.0.0.1", 9999))
    sender = udp_socket(lab.a)
    stop = threading.Event()
    with inside(lab.a):
        batches = capture_live("lo", bpf="udp dst port 9999", stop=stop, batch_timeout=0.2, max_packets=1)
    sender.sendto(b"via tcpdump", ("127.0.0.1", 9999))
    assert frames(collect(batches, stop, after=3.0))[0].endswith(b"via tcpdump")
    receiver.close()
    sender.close()


def test_kernel_counters_are_read(lab: Lab, compiler: None) -> None:
    with inside(lab.a):
        capture = live.LiveCapture("lo", bpf="udp")
    receiver = udp_socket(lab.a, ("127.0.0.1", 9999))
    sender = udp_socket(lab.a)
    sender.sendto(b"x", ("127.0.0.1", 9999))
    time.sleep(0.1)
    with capture:
        counters = capture.stats()
        assert counters.received >= 1
        assert counters.dropped == 0
    receiver.close()
    sender.close()


def test_a_filter_is_never_read_as_a_tcpdump_option(lab: Lab, tmp_path: Path) -> None:
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump is not installed")
    target = tmp_path / "written.pcap"
    with inside(lab.a), pytest.raises(CaptureError, match="invalid capture filter"):
        live.compile_with_tcpdump(f"-w {target}", "lo", 65535)
    assert not target.exists()


def test_packets_queued_before_the_stop_are_still_read(lab: Lab, compiler: None) -> None:
    """Ctrl-C while the engine was busy: what the kernel already queued is read, not dropped."""
    receiver = udp_socket(lab.a, (A_IP, 9999))
    sender = udp_socket(lab.b)
    stop = threading.Event()
    with inside(lab.a):
        batches = capture_live(lab.va, bpf="udp port 9999", stop=stop, batch_timeout=0.2)
    for _ in range(5):
        sender.sendto(b"queued", (A_IP, 9999))
    time.sleep(0.2)  # in the socket's queue, not read yet
    stop.set()  # stopped before the first read
    got = list(batches)
    assert sum(len(b) for b in got) == 5
    receiver.close()
    sender.close()


def test_a_wifi_monitor_interface_is_read_as_radiotap_and_filtered_for_it() -> None:
    """A mac80211 monitor interface (``wlan0mon``: ARPHRD_IEEE80211_RADIOTAP, linux/if_arp.h) gives radiotap
    frames, and its filter is compiled for DLT_IEEE802_11_RADIO, not for Ethernet."""
    assert live._LINKTYPES[live.ARPHRD_IEEE80211_RADIOTAP] == (LINKTYPE_IEEE802_11_RADIOTAP, 127)
    assert live._LINKTYPES[live.ARPHRD_IEEE80211] == (LINKTYPE_IEEE802_11, 105)
    lib = live._libpcap()
    if lib is None:
        pytest.skip("needs libpcap (libpcap0.8) to compile for the 802.11 link types")
    radio = live.compile_with_libpcap(lib, "udp port 53", 127, 65535)
    assert radio
    assert radio != live.compile_with_libpcap(lib, "udp port 53", 1, 65535)
