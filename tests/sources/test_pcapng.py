"""pcapng reading: interfaces of different link types and resolutions, block kinds, byte orders."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import dpkt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.errors import CaptureError
from iotwarden.model.epoch import showable
from iotwarden.sources.capfile import read_capture
from tests.conftest import shared
from tests.sources.capbuild import ethernet, pcapng_bytes, tcp, udp

ETH_FRAME = ethernet(udp("10.0.0.1", "10.0.0.2", 5353, 5353, b"mdns"))
RAW_FRAME = tcp("10.0.0.3", "10.0.0.4", 40000, 80, payload=b"GET /")


def _write(tmp_path: Path, blob: bytes) -> Path:
    path = tmp_path / "c.pcapng"
    path.write_bytes(blob)
    return path


def _rows(path: Path) -> list[tuple[float, int, bytes]]:
    out = []
    for b in read_capture(path):
        for i in range(len(b)):
            off, cap = int(b.offsets[i]), int(b.caplen[i])
            out.append((float(b.ts[i]), int(b.linktype[i]), b.data[off : off + cap].tobytes()))
    return out


@pytest.mark.parametrize("big_endian", [False, True])
def test_two_interfaces_with_their_own_link_type_and_resolution(tmp_path: Path, big_endian: bool) -> None:
    # interface 0: Ethernet, microseconds (default); interface 1: RAW, nanoseconds (if_tsresol 9)
    blob = pcapng_bytes(
        [(1, None), (101, 9)],
        [(0, 1_700_000_000_500_000, ETH_FRAME), (1, 1_700_000_001_250_000_000, RAW_FRAME),
         (0, 1_700_000_002_000_001, ETH_FRAME)],
        big_endian=big_endian,
    )
    rows = _rows(_write(tmp_path, blob))
    assert [r[1] for r in rows] == [1, 101, 1]
    assert [r[2] for r in rows] == [ETH_FRAME, RAW_FRAME, ETH_FRAME]
    assert [r[0] for r in rows] == pytest.approx([1_700_000_000.5, 1_700_000_001.25, 1_700_000_002.000001], abs=1e-6)


def test_binary_resolution_if_tsresol(tmp_path: Path) -> None:
    blob = pcapng_bytes([(1, 0x80 | 10)], [(0, 3 * 1024 + 512, ETH_FRAME)])  # 2^-10 s ticks
    assert _rows(_write(tmp_path, blob))[0][0] == pytest.approx(3.5)


@pytest.mark.parametrize("kind", ["spb", "pb"])
def test_simple_and_obsolete_packet_blocks(tmp_path: Path, kind: str) -> None:
    blob = pcapng_bytes([(1, None)], [(0, 7_000_000, ETH_FRAME), (0, 8_000_000, ETH_FRAME)], kind=kind)
    rows = _rows(_write(tmp_path, blob))
    assert [r[2] for r in rows] == [ETH_FRAME, ETH_FRAME]
    if kind == "pb":
        assert [r[0] for r in rows] == pytest.approx([7.0, 8.0])


def test_a_second_section_may_change_byte_order(tmp_path: Path) -> None:
    first = pcapng_bytes([(1, None)], [(0, 1_000_000, ETH_FRAME)])
    second = pcapng_bytes([(101, None)], [(0, 2_000_000, RAW_FRAME)], big_endian=True)
    rows = _rows(_write(tmp_path, first + second))
    assert [(r[1], r[2]) for r in rows] == [(1, ETH_FRAME), (101, RAW_FRAME)]
    assert [r[0] for r in rows] == pytest.approx([1.0, 2.0])


def test_truncated_block_reports_packets_before_it(tmp_path: Path) -> None:
    blob = pcapng_bytes([(1, None)], [(0, i * 1_000_000, ETH_FRAME) for i in range(10)])
    path = _write(tmp_path, blob[:-7])
    seen = []
    with pytest.raises(CaptureError, match=r"truncated.*9 packets read before the damage") as err:
        for b in read_capture(path):
            seen.append(len(b))
    assert sum(seen) == 9
    assert err.value.packets_read == 9


def test_mismatched_trailing_length_is_damage(tmp_path: Path) -> None:
    blob = bytearray(pcapng_bytes([(1, None)], [(0, i, ETH_FRAME) for i in range(4)]))
    struct.pack_into("<I", blob, len(blob) - 4, 12345)
    with pytest.raises(CaptureError, match="trailing length") as err:
        list(read_capture(_write(tmp_path, bytes(blob))))
    assert err.value.packets_read == 3


@pytest.mark.parametrize("big_endian", [False, True])
def test_an_interface_option_overrunning_its_block_is_damage_at_that_block(tmp_path: Path, big_endian: bool) -> None:
    """§3.5: an option lies within its block; one claiming more was read past it as if it were not there."""
    blob = bytearray(pcapng_bytes([(1, None), (1, 9)], [(0, 1, ETH_FRAME)], big_endian=big_endian))
    order = ">" if big_endian else "<"
    second = 28 + struct.unpack_from(order + "I", blob, 28 + 4)[0]  # after the section header and interface 0
    assert struct.unpack_from(order + "H", blob, second + 16)[0] == 9  # its if_tsresol option
    struct.pack_into(order + "H", blob, second + 18, 200)
    with pytest.raises(CaptureError, match=rf"interface block option 9 at \+16 claims 200 bytes, past the block's "
                                           rf"end at byte {second};") as err:
        list(read_capture(_write(tmp_path, bytes(blob))))
    assert err.value.packets_read == 0


def test_undefined_interface_is_damage(tmp_path: Path) -> None:
    blob = pcapng_bytes([(1, None)], [(0, 1, ETH_FRAME), (3, 2, ETH_FRAME)])
    at = len(blob) - len(pcapng_bytes([], [(3, 2, ETH_FRAME)])) + 28  # the second packet block (one SHB less)
    with pytest.raises(CaptureError, match=f"interface 3 but 1 are defined at byte {at};") as err:
        list(read_capture(_write(tmp_path, blob)))
    assert err.value.packets_read == 1


def test_only_unsupported_link_types_is_refused_by_name(tmp_path: Path) -> None:
    blob = pcapng_bytes([(129, None)], [(0, 1, b"\x01\x00\xd4" + b"\0" * 20)])
    with pytest.raises(CaptureError, match=r"unsupported link type 129 \(ARCNET_LINUX\)"):
        list(read_capture(_write(tmp_path, blob)))


def test_real_pcapng_named_pcap_is_recognised_by_content_and_matches_dpkt() -> None:
    path = shared("pcaps", "ics_iti", "pcaps", "hart", "hart_ip.pcap")  # pcapng despite its name
    with path.open("rb") as fh:
        expected = [(float(ts), bytes(buf)) for ts, buf in dpkt.pcapng.Reader(fh)]
    rows = _rows(path)
    assert len(rows) == 116  # capinfos -c
    assert [r[2] for r in rows] == [e[1] for e in expected]
    assert np.allclose([r[0] for r in rows], [e[0] for e in expected])


def test_real_chdlc_pcapng_is_read() -> None:  # Cisco HDLC, a serial WAN link (engine/decode._serial_link)
    assert len(_rows(shared("pcaps", "tcpdump_tests", "hdlc_slarp.pcapng"))) == 7  # capinfos -c


def test_real_arcnet_capture_is_refused_with_its_link_type() -> None:
    with pytest.raises(CaptureError, match="ARCNET_LINUX"):
        list(read_capture(shared("pcaps", "tcpdump_tests", "arcnet-rfc1051-arp-icmp-http.pcap")))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6), st.integers(0, 40))
def test_fuzz_damaged_pcapng_reads_or_fails_cleanly(flips: list[tuple[int, int]], cut: int) -> None:
    import tempfile

    blob = bytearray(pcapng_bytes([(1, None), (101, 9)], [(0, 5, ETH_FRAME), (1, 6, RAW_FRAME), (0, 7, ETH_FRAME)]))
    for at, value in flips:
        blob[28 + at % (len(blob) - 28)] = value  # keep the section header intact
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.pcapng"
        path.write_bytes(bytes(blob[: len(blob) - cut]))
        try:
            batches = list(read_capture(path))
        except CaptureError:
            return
        for b in batches:
            assert ((b.offsets + b.caplen) <= b.data.shape[0]).all()


@pytest.mark.parametrize("kind", ["epb", "spb", "pb"])
@pytest.mark.parametrize("big_endian", [False, True])
def test_an_original_length_no_frame_has_counts_the_captured_bytes(tmp_path: Path, kind: str, big_endian: bool) -> None:
    # found by fuzzing: an Original Packet Length past 2**31 - 1 read as int32 was negative, and so were its flow's
    # byte counts; the packet counts the bytes it holds, as one whose field is below its captured length
    blob = bytearray(pcapng_bytes([(1, None)], [(0, 7_000_000, ETH_FRAME), (0, 8_000_000, ETH_FRAME)],
                                  big_endian=big_endian, kind=kind))
    o = ">I" if big_endian else "<I"
    first = 28 + 20  # the section header, the interface; then the first packet block
    field = {"epb": 24, "pb": 24, "spb": 8}[kind]
    struct.pack_into(o, blob, first + field, 0xFFFFFFF0)
    batches = list(read_capture(_write(tmp_path, bytes(blob))))
    wire = [int(w) for b in batches for w in b.wirelen]
    held = [int(c) for b in batches for c in b.caplen]  # an SPB's length field also sets what it holds (§4.4):
    assert held[1:] == [len(ETH_FRAME)] and held[0] >= len(ETH_FRAME)  # without it, the block's data, padding too
    assert wire == held


@pytest.mark.parametrize("when", ["late", "offset"])
def test_a_packet_time_past_the_year_9999_is_damage_at_its_block(tmp_path: Path, when: str) -> None:
    # found by fuzzing: a 64-bit time at a resolution of seconds (if_tsresol 0), or an if_tsoffset near 2**63, made a
    # packet of ~1e19 s; its flows and devices were stored, and every command showing their times failed
    # (OverflowError in datetime.fromtimestamp, an internal error)
    if when == "late":
        blob = pcapng_bytes([(1, 0)], [(0, 1_700_000_000, ETH_FRAME), (0, 2**64 - 1, ETH_FRAME),
                                       (0, 1_700_000_001, ETH_FRAME)])
    else:
        # Ethernet, if_tsoffset (option 14) 2**62 s, end of options
        body = struct.pack("<HHI", 1, 0, 0) + struct.pack("<HHq", 14, 8, 2**62) + bytes(4)
        idb = struct.pack("<II", 1, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
        plain = pcapng_bytes([(1, None)], [(0, 7_000_000, ETH_FRAME)])
        blob = plain[:28] + idb + plain[28 + 20 :]  # its interface block replaced
    path = _write(tmp_path, blob)
    rows: list[float] = []
    with pytest.raises(CaptureError, match="outside the years 1 to 9999") as err:
        for b in read_capture(path):
            rows += [float(t) for t in b.ts]
    assert rows == ([1_700_000_000.0] if when == "late" else [])
    assert err.value.packets_read == len(rows)


# --- seeded fuzz: a real capture's frames in pcapng with odd blocks, fields of those blocks mutated ---------------
# (the brief-E campaign's pcapng target, which found the negative wire length and the time past the year 9999)

def _block(o: str, btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack(o + "II", btype, len(body) + 12) + body + struct.pack(o + "I", len(body) + 12)


def _option(o: str, code: int, value: bytes) -> bytes:
    return struct.pack(o + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _odd_pcapng(rnd: random.Random, frames: list[tuple[float, bytes]]) -> list[bytes]:
    """Blocks of a capture of ``frames``: options on every header, EPBs with options, SPBs and obsolete PBs, and
    between them name resolution, statistics, decryption secrets, custom and unknown blocks and new sections of
    the other byte order."""
    o = rnd.choice("<>")
    blocks = [_block(o, 0x0A0D0D0A, struct.pack(o + "IHHq", 0x1A2B3C4D, 1, 0, -1) + _option(o, 4, "fuzz ü".encode())
                     + _option(o, 0, b""))]
    res = rnd.choice([None, 0, 6, 9, 0x80 | 20])
    ticks = 10**6 if res is None else 2 ** (res & 0x7F) if res & 0x80 else 10**res
    opts = (_option(o, 9, bytes([res])) if res is not None else b"") + _option(o, 14, struct.pack(o + "q", 3600))
    blocks.append(_block(o, 1, struct.pack(o + "HHI", 1, 0, rnd.choice([0, 65535])) + opts + _option(o, 0, b"")))
    for ts, frame in frames:
        raw, r = int(ts * ticks), rnd.random()
        if r < 0.1:
            blocks.append(_block(o, 3, struct.pack(o + "I", len(frame)) + frame))
        elif r < 0.2:
            blocks.append(_block(o, 2, struct.pack(o + "HHIIII", 0, 0, raw >> 32, raw & 0xFFFFFFFF, len(frame),
                                                   len(frame)) + frame))
        else:
            flags = _option(o, 2, struct.pack(o + "I", 1)) + _option(o, 0, b"")
            blocks.append(_block(o, 6, struct.pack(o + "IIIII", 0, raw >> 32, raw & 0xFFFFFFFF, len(frame), len(frame))
                                 + frame + b"\0" * (-len(frame) % 4) + flags))
        if rnd.random() < 0.1:
            blocks.append(rnd.choice([
                _block(o, 4, struct.pack(o + "HH", 1, 6) + bytes([10, 0, 0, 1]) + b"a\0\0\0" + bytes(4)),  # NRB
                _block(o, 5, struct.pack(o + "III", 0, 0, 0) + _option(o, 4, struct.pack(o + "Q", 5))),  # ISB
                _block(o, 10, struct.pack(o + "II", 0x544C534B, 8) + b"CLIENT_R"),  # DSB
                _block(o, rnd.choice([0x00000BAD, 0x40000BAD]), struct.pack(o + "I", 32473) + b"data"),  # custom
                _block(o, rnd.randrange(11, 0x7FFFFFFF), rnd.randbytes(rnd.randrange(40)))]))  # unknown type
        if rnd.random() < 0.03:  # a new section of the other byte order and its own interface
            o = ">" if o == "<" else "<"
            blocks += [_block(o, 0x0A0D0D0A, struct.pack(o + "IHHq", 0x1A2B3C4D, 1, 0, -1)),
                       _block(o, 1, struct.pack(o + "HHI", 1, 0, 0))]
    return blocks


def _mutate_blocks(rnd: random.Random, blocks: list[bytes]) -> bytes:
    """One to three edits of block fields: a 32-bit or 16-bit field set to an extreme, a time set to one, a block
    dropped or copied, or the file cut."""
    out = [bytearray(b) for b in blocks]
    for _ in range(rnd.randint(1, 3)):
        i = rnd.randrange(len(out))
        b, op = out[i], rnd.randrange(6)
        if op <= 1 and len(b) >= 28:
            struct.pack_into(rnd.choice(["<I", ">I"]), b, rnd.choice([4, 8, 12, 16, 20, 24, len(b) - 4]),
                             rnd.choice([0, 1, 12, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFF, len(b) + 4]))
        elif op == 2 and len(b) >= 16:
            struct.pack_into(rnd.choice(["<H", ">H"]), b, rnd.randrange(8, len(b) - 2) & ~1,
                             rnd.choice([0, 1, 9, 14, 0xFFFF, 0x7FFF, 147]))
        elif op == 3 and len(b) > 24:
            struct.pack_into(rnd.choice(["<Q", ">Q"]), b, 12, rnd.choice([0, 2**64 - 1, 2**63, 10**18]))
        elif op == 4:
            out.insert(rnd.randrange(len(out) + 1), bytearray(out[rnd.randrange(len(out))]) if rnd.random() < 0.5
                       else out.pop(i))
        else:
            return b"".join(out[: i + 1])[: -rnd.randint(1, 12)]
    return b"".join(out)


def test_fuzz_odd_blocks_of_a_real_capture_read_or_fail_cleanly(tmp_path: Path) -> None:
    with shared("pcaps", "tcpdump_tests", "dhcp-rfc4388.pcap").open("rb") as fh:
        frames = [(ts, bytes(buf)) for ts, buf in dpkt.pcap.Reader(fh)][:40]
    path = tmp_path / "f.pcapng"
    damaged = 0
    for n in range(300):
        rnd = random.Random(n)
        path.write_bytes(_mutate_blocks(rnd, _odd_pcapng(rnd, frames)))
        try:
            for b in read_capture(path):
                assert ((b.offsets + b.caplen) <= b.data.shape[0]).all()
                assert ((b.wirelen >= b.caplen) & (b.caplen >= 0)).all(), n
                assert all(showable(float(t)) for t in b.ts), n
        except CaptureError:
            damaged += 1
    assert 0 < damaged < 300
