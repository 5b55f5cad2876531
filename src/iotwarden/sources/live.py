"""Live capture from a Linux network interface -> PacketBatches (AF_PACKET socket, kernel BPF filter).

The filter expression is compiled to classic BPF by libpcap (``pcap_compile`` through ctypes) or,
without libpcap, by ``tcpdump -ddd`` (sources/bpf.py), and attached with SO_ATTACH_FILTER so the kernel
drops what the filter rejects and truncates what it keeps to ``snaplen``. Needs root or CAP_NET_RAW.
"""

from __future__ import annotations

import ctypes
import fcntl
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from iotwarden.engine.batch import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IEEE802_11,
    LINKTYPE_IEEE802_11_RADIOTAP,
    LINKTYPE_RAW,
    PacketBatch,
)
from iotwarden.errors import CaptureError, ConfigError
from iotwarden.sources.bpf import (
    BPF_RET_K,
    MAX_FILTER_CHARS,
    Program,
    check_expression,
    compile_with_libpcap,
    compile_with_tcpdump,
)
from iotwarden.sources.bpf import load_libpcap as _libpcap

# Compiling an expression is sources/bpf.py's; its names import from here too, where their callers have found them.
__all__ = ["BPF_RET_K", "DRAIN_S", "IDLE_TICK_S", "MAX_BATCH_BYTES", "MAX_FILTER_CHARS", "MAX_SNAPLEN", "POLL_INTERVAL",
           "RCVBUF_BYTES", "CaptureCounters", "IdleBatch", "LiveCapture", "Program", "capture_live", "check_expression",
           "compile_filter", "compile_with_libpcap", "compile_with_tcpdump", "idle_batch", "interface_filter"]

# Linux ABI constants (linux/if_ether.h, linux/if_packet.h, asm-generic/socket.h, linux/sockios.h)
ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_AUXDATA = 8
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35  # also SCM_TIMESTAMPNS, the control message type
SO_RCVBUFFORCE = 33
SIOCGIFHWADDR = 0x8927
PACKET_OUTGOING = 4  # sll_pkttype of a packet this host sent
TP_STATUS_VLAN_VALID = 1 << 4  # tpacket_auxdata.tp_status: the kernel stripped a VLAN tag
TP_STATUS_VLAN_TPID_VALID = 1 << 6
ARPHRD_ETHER, ARPHRD_LOOPBACK, ARPHRD_NONE = 1, 772, 0xFFFE  # linux/if_arp.h
ARPHRD_IEEE80211, ARPHRD_IEEE80211_RADIOTAP = 801, 803  # Wi-Fi in monitor mode (bare, radiotap)
_AUXDATA = struct.Struct("=IIIHHHH")  # struct tpacket_auxdata
_TIMESPEC = struct.Struct("=qq")
_BPF_INSN = struct.Struct("=HBBI")  # struct sock_filter (code, jt, jf, k)

# link type per interface hardware type: (LINKTYPE_* for the batch, DLT_* for pcap_compile)
_LINKTYPES = {
    ARPHRD_ETHER: (LINKTYPE_ETHERNET, 1),
    ARPHRD_LOOPBACK: (LINKTYPE_ETHERNET, 1),  # Linux frames loopback packets with a zeroed Ethernet header
    ARPHRD_NONE: (LINKTYPE_RAW, 12),  # tun devices: bare IP packets (DLT_RAW is 12 on Linux)
    ARPHRD_IEEE80211: (LINKTYPE_IEEE802_11, 105),
    ARPHRD_IEEE80211_RADIOTAP: (LINKTYPE_IEEE802_11_RADIOTAP, 127),  # a mac80211 monitor interface (wlan0mon)
}

MAX_SNAPLEN = 262144  # libpcap's MAXIMUM_SNAPLEN
# A batch is handed over at the latest once it holds this many bytes of packet data.
MAX_BATCH_BYTES = 64 * 1024 * 1024
# Socket receive buffer asked of the kernel: how much traffic may queue while the engine works.
RCVBUF_BYTES = 16 * 1024 * 1024
# Longest wait for packets before ``stop`` is looked at again.
POLL_INTERVAL = 0.1
# Once ``stop`` is set, packets the kernel already queued are still read, for at most this long
# (a stop under a flood must still end): Ctrl-C loses nothing that had arrived.
DRAIN_S = 1.0
# A quiet link's heartbeat: with ``idle_s`` asked, an IdleBatch is handed over after this long without a batch, so
# the analyzers' clock goes on (a held scan, a flow waiting for its device's class come due) while no packet comes;
# a tenth of the shortest wait an analyzer has (scan's hold_s 900 s, lateral's unknown_wait_s 600 s) is soon enough
IDLE_TICK_S = 5.0


def compile_filter(expression: str | None, *, dlt: int, snaplen: int, interface: str) -> Program:
    """The BPF program for a filter expression; no expression accepts everything, cut to ``snaplen``."""
    if expression is None or not expression.strip():
        return [(BPF_RET_K, 0, 0, snaplen)]
    check_expression(expression)
    lib = _libpcap()
    if lib is not None:
        return compile_with_libpcap(lib, expression, dlt, snaplen)
    return compile_with_tcpdump(expression, interface, snaplen)


def interface_filter(interface: str, expression: str | None, *, snaplen: int = 65535) -> Program | None:
    """The filter compiled for ``interface``'s link type (read from sysfs, no privilege needed) before a
    command starts its work, so a bad or oversized filter is refused at once and compiled once; None when
    the link type cannot be read there (the capture then compiles it on opening)."""
    if expression is not None:
        check_expression(expression)
    try:
        socket.if_nametoindex(interface)
    except (OSError, ValueError) as exc:
        raise CaptureError(f"no such network interface: {interface!r}") from exc
    try:
        hwtype = int(Path(f"/sys/class/net/{interface}/type").read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None
    if hwtype not in _LINKTYPES:
        raise CaptureError(f"{interface!r}: unsupported link type (ARPHRD {hwtype})")
    return compile_filter(expression, dlt=_LINKTYPES[hwtype][1], snaplen=snaplen, interface=interface)


@dataclass(slots=True)
class IdleBatch(PacketBatch):
    """No packet: the link was quiet ``idle_s`` seconds, and the capture's clock (the kernel stamps packets with
    the wall clock, SO_TIMESTAMPNS) reached ``at``. A consumer ticks its analyzers to it (services/monitor)."""

    at: float = 0.0


def idle_batch(linktype: int, at: float) -> IdleBatch:
    """An IdleBatch of no packet on a link of ``linktype``."""
    return IdleBatch(data=np.zeros(0, dtype=np.uint8), offsets=np.zeros(0, dtype=np.int64),
                     caplen=np.zeros(0, dtype=np.int32), wirelen=np.zeros(0, dtype=np.int32),
                     ts=np.zeros(0, dtype=np.float64), linktype=np.full(0, linktype, dtype=np.uint16), at=at)


@dataclass(slots=True)
class CaptureCounters:
    """Kernel counters of the socket since it opened (PACKET_STATISTICS, packet(7))."""

    received: int = 0  # packets that passed the filter
    dropped: int = 0  # packets that passed the filter but found the receive buffer full


class LiveCapture:
    """An open AF_PACKET socket on one interface, filtered in the kernel. Use :func:`capture_live`."""

    def __init__(self, interface: str, *, bpf: str | None = None, snaplen: int = 65535,
                 program: Program | None = None) -> None:
        if not 1 <= snaplen <= MAX_SNAPLEN:
            raise ConfigError(f"snaplen must be between 1 and {MAX_SNAPLEN}, not {snaplen}")
        self.interface, self.snaplen, self.program = interface, snaplen, program  # program: ``bpf`` compiled
        self.counters = CaptureCounters()
        try:
            socket.if_nametoindex(interface)
        except (OSError, ValueError) as exc:
            raise CaptureError(f"no such network interface: {interface!r}") from exc
        try:  # protocol 0: the socket receives nothing until bound, so no packet escapes the filter
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError as exc:
            raise CaptureError(f"permission denied capturing on {interface!r}: live capture needs root "
                               "or CAP_NET_RAW") from exc
        try:
            self._setup(bpf)
        except BaseException:
            self.sock.close()
            raise

    def _setup(self, bpf: str | None) -> None:
        ifreq = struct.pack("16s16s", self.interface.encode(), b"")
        try:
            hwtype = struct.unpack_from("=H", fcntl.ioctl(self.sock.fileno(), SIOCGIFHWADDR, ifreq), 16)[0]
        except OSError as exc:
            raise CaptureError(f"cannot read the link type of {self.interface!r}: {exc.strerror}") from exc
        if hwtype not in _LINKTYPES:
            raise CaptureError(f"{self.interface!r}: unsupported link type (ARPHRD {hwtype})")
        self.linktype, dlt = _LINKTYPES[hwtype]
        self.loopback = hwtype == ARPHRD_LOOPBACK
        program = self.program or compile_filter(bpf, dlt=dlt, snaplen=self.snaplen, interface=self.interface)
        code = b"".join(_BPF_INSN.pack(*insn) for insn in program)
        buf = ctypes.create_string_buffer(code, len(code))
        fprog = struct.pack("HP", len(program), ctypes.addressof(buf))  # struct sock_fprog
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        except OSError as exc:
            raise CaptureError(f"the kernel refused the capture filter {bpf!r}: {exc.strerror}") from exc
        self.sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
        except OSError:  # without CAP_NET_ADMIN the kernel caps it at net.core.rmem_max
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
        self.sock.bind((self.interface, ETH_P_ALL))
        self.sock.setblocking(False)

    def stats(self) -> CaptureCounters:
        """Counters so far (the kernel resets its own on each read; they are added up here)."""
        raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        received, dropped = struct.unpack("=II", raw)
        self.counters.received += received
        self.counters.dropped += dropped
        return self.counters

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> LiveCapture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def batches(self, *, batch_size: int = 4096, batch_timeout: float = 0.5, stop: threading.Event | None = None,
                max_packets: int | None = None, idle_s: float | None = None) -> Iterator[PacketBatch]:
        """Batches of ``batch_size`` packets, or fewer once ``batch_timeout`` seconds have passed since
        the batch's first packet; ends after ``max_packets`` packets, or when ``stop`` is set and the
        packets already queued in the socket are read (at most :data:`DRAIN_S` seconds more). With ``idle_s``,
        an :class:`IdleBatch` (no packet, the wall-clock time) each ``idle_s`` seconds nothing else was handed over."""
        view = memoryview(bytearray(self.snaplen))
        ancsize = socket.CMSG_SPACE(_AUXDATA.size) + socket.CMSG_SPACE(_TIMESPEC.size)
        pending = _Pending(self.linktype)
        total = 0
        drain_until: float | None = None  # set once stop is: read what is queued, then end
        handed = time.monotonic()  # when the last batch (or heartbeat) was handed over
        while max_packets is None or total < max_packets:
            if drain_until is None and stop is not None and stop.is_set():
                drain_until = time.monotonic() + DRAIN_S
            if drain_until is not None and time.monotonic() >= drain_until:
                break
            try:
                nbytes, ancdata, _, address = self.sock.recvmsg_into([view], ancsize)
            except BlockingIOError:
                if drain_until is not None:
                    break  # the queue is empty: stopped with nothing lost
                due = pending.started + batch_timeout - time.monotonic()
                select.select([self.sock], [], [], min(POLL_INTERVAL, max(0.0, due)) if pending else POLL_INTERVAL)
                if pending and time.monotonic() - pending.started >= batch_timeout:
                    handed = time.monotonic()
                    yield pending.take()
                elif not pending and idle_s is not None and time.monotonic() - handed >= idle_s:
                    handed = time.monotonic()
                    yield idle_batch(self.linktype, time.time())  # a quiet link: the clock goes on all the same
                continue
            if self.loopback and address[2] == PACKET_OUTGOING:
                continue  # on loopback every packet is also seen incoming: keep that copy only
            ts, wirelen, vlan = time.time(), nbytes, None
            for level, kind, payload in ancdata:
                if level == SOL_PACKET and kind == PACKET_AUXDATA and len(payload) >= _AUXDATA.size:
                    status, wirelen, _, _, _, tci, tpid = _AUXDATA.unpack_from(payload)
                    if status & TP_STATUS_VLAN_VALID:
                        vlan = (tpid if status & TP_STATUS_VLAN_TPID_VALID else 0x8100, tci)
                elif level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= _TIMESPEC.size:
                    sec, nsec = _TIMESPEC.unpack_from(payload)
                    ts = sec + nsec / 1e9
            if vlan is not None and self.linktype == LINKTYPE_ETHERNET and nbytes >= 12:
                # put back the 802.1Q tag the NIC or driver stripped (IEEE 802.1Q §9.3), as libpcap does
                pending.add(ts, bytes(view[:12]) + struct.pack("!HH", *vlan) + bytes(view[12:nbytes]), wirelen + 4)
            else:
                pending.add(ts, view[:nbytes], wirelen)
            total += 1
            if (len(pending) >= batch_size or pending.nbytes >= MAX_BATCH_BYTES
                    or time.monotonic() - pending.started >= batch_timeout):
                handed = time.monotonic()
                yield pending.take()
        if pending:
            yield pending.take()


class _Pending:
    """The packets of the batch being filled, as the columns of a PacketBatch."""

    def __init__(self, linktype: int) -> None:
        self.linktype = linktype
        self.started = 0.0  # time.monotonic() of the batch's first packet
        self._reset()

    def _reset(self) -> None:
        self.data = bytearray()
        self.offsets: list[int] = []
        self.caplens: list[int] = []
        self.wirelens: list[int] = []
        self.stamps: list[float] = []

    def __len__(self) -> int:
        return len(self.offsets)

    @property
    def nbytes(self) -> int:
        return len(self.data)

    def add(self, ts: float, frame: bytes | memoryview, wirelen: int) -> None:
        if not self.offsets:
            self.started = time.monotonic()
        self.offsets.append(len(self.data))
        self.data += frame
        self.caplens.append(len(frame))
        self.wirelens.append(max(wirelen, len(frame)))
        self.stamps.append(ts)

    def take(self) -> PacketBatch:
        batch = PacketBatch(
            data=np.frombuffer(bytes(self.data), dtype=np.uint8),
            offsets=np.array(self.offsets, dtype=np.int64),
            caplen=np.array(self.caplens, dtype=np.int32),
            wirelen=np.array(self.wirelens, dtype=np.int32),
            ts=np.array(self.stamps, dtype=np.float64),
            linktype=np.full(len(self.offsets), self.linktype, dtype=np.uint16),
        )
        self._reset()
        return batch


def capture_live(interface: str, *, bpf: str | None = None, snaplen: int = 65535, batch_size: int = 4096,
                 batch_timeout: float = 0.5, stop: threading.Event | None = None,
                 max_packets: int | None = None, program: Program | None = None,
                 idle_s: float | None = None) -> Iterator[PacketBatch]:
    """PacketBatches captured on ``interface``, filtered in the kernel by the BPF expression ``bpf``
    (``program``: the same already compiled, by :func:`interface_filter`).

    The socket is opened, and the interface, permission and filter checked, before this returns
    (CaptureError with one clear line otherwise; ConfigError for bad options). A batch is yielded
    when it holds ``batch_size`` packets or ``batch_timeout`` seconds after its first packet;
    capture ends when ``stop`` is set (seen within POLL_INTERVAL; what is queued is still read) or after
    ``max_packets``. With ``idle_s`` (:data:`IDLE_TICK_S`), a quiet link hands over an :class:`IdleBatch` each
    ``idle_s`` seconds, so its consumer's clock goes on.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, not {batch_size}")
    if not batch_timeout > 0:
        raise ConfigError(f"batch_timeout must be positive, not {batch_timeout}")
    if max_packets is not None and max_packets < 0:
        raise ConfigError(f"max_packets must not be negative, not {max_packets}")
    if idle_s is not None and not idle_s > 0:
        raise ConfigError(f"idle_s must be positive, not {idle_s}")
    capture = LiveCapture(interface, bpf=bpf, snaplen=snaplen, program=program)

    def run() -> Iterator[PacketBatch]:
        with capture:
            yield from capture.batches(batch_size=batch_size, batch_timeout=batch_timeout, stop=stop,
                                       max_packets=max_packets, idle_s=idle_s)

    return run()
