"""The engine end to end: statistics, configuration, real and malformed captures, default dissectors."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import iotwarden.lab
from iotwarden.engine.core import Engine, EngineConfig
from iotwarden.engine.decode import decode
from iotwarden.errors import CaptureError, ConfigError
from iotwarden.model import Flow
from iotwarden.sources.capfile import read_capture
from tests.conftest import SHARED_DATA, shared
from tests.sources.capbuild import batch_of, ethernet, udp

TCPDUMP_TESTS = SHARED_DATA / "pcaps" / "tcpdump_tests"
CORPUS = sorted(p.name for p in TCPDUMP_TESTS.glob("*.pcap*")) if TCPDUMP_TESTS.is_dir() else []


def _default_dissectors():  # type: ignore[no-untyped-def]
    try:
        from iotwarden.dissect import default_dissectors

        return default_dissectors()
    except ImportError as exc:  # dissectors still being written
        pytest.skip(f"default dissectors unavailable: {exc}")


def _drive(engine: Engine, path: Path, batch_size: int = 65536) -> list[Flow]:
    flows: list[Flow] = []
    try:
        for batch in read_capture(path, batch_size=batch_size):
            flows += engine.process(batch).flows
    except CaptureError:
        pass  # damaged captures: what was read is still accounted
    return flows + engine.flush().flows


def test_stats_count_packets_bytes_time_and_flows() -> None:
    frames = [(100.0 + i, ethernet(udp("10.0.0.1", "10.0.0.2", 1000 + i % 3, 53, b"q" * i))) for i in range(9)]
    engine = Engine([])
    engine.process(batch_of(frames[:4]))
    engine.process(batch_of(frames[4:]))
    engine.flush()
    st = engine.stats
    assert (st.packets, st.bytes, st.first_ts, st.last_ts, st.flows) == (
        9, sum(len(f) for _, f in frames), 100.0, 108.0, 3)
    assert engine.open_flows() == 0


def test_malformed_frames_are_counted_by_reason() -> None:
    good = ethernet(udp("10.0.0.1", "10.0.0.2", 1, 2, b"x"))
    engine = Engine([])
    engine.process(batch_of([(1.0, good[:8]), (2.0, good[:20]), (3.0, good)]))
    assert dict(engine.stats.decode_errors) == {"short_link_header": 1, "short_ip_header": 1}
    assert engine.stats.packets == 3


def test_empty_batch_is_a_no_op() -> None:
    engine = Engine([])
    assert engine.process(batch_of([])).flows == []
    assert engine.stats.packets == 0


@pytest.mark.parametrize("field", ["idle_timeout", "max_flows", "tcp_max_ooo_bytes"])
def test_config_limits_are_validated(field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        Engine([], EngineConfig(**{field: 0}))


@pytest.mark.parametrize("dissectors", ["none", "default"])
@pytest.mark.parametrize("name", CORPUS)
def test_every_tcpdump_test_capture_runs_without_escaping_errors(name: str, dissectors: str) -> None:
    path = shared("pcaps", "tcpdump_tests", name)
    engine = Engine([] if dissectors == "none" else _default_dissectors())
    flows = _drive(engine, path)
    st = engine.stats
    assert st.flows == len(flows)
    assert sum(f.packets for f in flows) <= st.packets
    assert engine.open_flows() == 0


@pytest.mark.parametrize("name", ["dhcp-rfc4388.pcap", "dns_tcp.pcap", "lldp_mudurl.pcap", "arp-oobr.pcap",
                                  "dhcpv6-ia-na.pcap", "telnet-iac-check-oobr.pcap", "snmp-heapoverflow-1.pcap"])
def test_default_dissectors_on_real_captures(name: str) -> None:
    dissectors = _default_dissectors()
    engine = Engine(dissectors)
    for batch in read_capture(shared("pcaps", "tcpdump_tests", name)):
        engine.process(batch)
    engine.flush()
    assert engine.stats.observations >= 0
    assert not engine.stats.analyzer_errors, dict(engine.stats.analyzer_errors)


def test_default_dissectors_recognise_dhcp_on_a_real_capture() -> None:
    engine = Engine(_default_dissectors())
    flows = _drive(engine, shared("pcaps", "tcpdump_tests", "dhcp-rfc4388.pcap"))
    assert engine.stats.protocols["dhcp"] > 0
    assert {f.app for f in flows if 67 in (f.a_port, f.b_port)} == {"dhcp"}


def test_batch_size_does_not_change_flows_on_a_real_capture() -> None:
    path = shared("pcaps", "tcpdump_tests", "dns_tcp.pcap")
    def summary(size: int) -> list[tuple[object, ...]]:
        return sorted((f.key, f.packets, f.bytes, f.end_reason) for f in _drive(Engine([]), path, size))
    assert summary(1) == summary(7) == summary(65536)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 101, 113, 0]), st.binary(max_size=90), st.floats(0, 500)),
                min_size=1, max_size=30),
       st.integers(1, 7))
def test_fuzz_engine_accounts_for_every_ip_packet_exactly_once(
    frames: list[tuple[int, bytes, float]], batch: int
) -> None:
    frames.sort(key=lambda f: f[2])
    # mix random bytes with well-formed packets so that flows do form
    good = [(lt, ethernet(udp("10.0.0.1", "10.0.0.2", 1, 2, data[:8])) if lt == 1 else data, t)
            for lt, data, t in frames]
    rows = [(t, f) for _, f, t in frames + good]
    types = [lt for lt, _, _ in frames + good]
    order = sorted(range(len(rows)), key=lambda i: rows[i][0])
    rows, types = [rows[i] for i in order], [types[i] for i in order]
    engine = Engine([], EngineConfig(idle_timeout=50.0, udp_idle_timeout=20.0, active_timeout=200.0))
    flows: list[Flow] = []
    for lo in range(0, len(rows), batch):
        flows += engine.process(batch_of(rows[lo : lo + batch], types[lo : lo + batch])).flows
    flows += engine.flush().flows
    h = decode(batch_of(rows, types))
    assert sum(f.packets for f in flows) == int(((h.ipver > 0) & (h.error == 0)).sum())
    assert engine.stats.packets == len(rows)
    assert sum(engine.stats.decode_errors.values()) == int((h.error != 0).sum())
    assert all(f.first_seen <= f.last_seen for f in flows)


# --- mutated real captures through every default dissector ------------------------------------------------------
# Small real captures, one or more per protocol family; SIP, RTSP, SMB, HTTP, Kerberos, PJL and SNMP come from
# flows of the bundled lab capture (by server port), the rest from ../shared/data. Each is run MUTANTS times with
# seeded edits inside transport payloads (bit flips, inserted, deleted and overwritten bytes, cut packets); the
# engine must take every packet, and a dissector may only reject (ParseError), never crash (analyzer_errors).
# One edit in six hits the IP or transport header instead (ports, lengths, flags: other dissectors and probes).
SV, ICS = ("pcaps", "suricata_verify"), ("pcaps", "ics_iti", "pcaps")
FUZZ_SHARED: dict[str, tuple[str, ...]] = {
    "quic": (*SV, "quic-v2-ja3", "input.pcap"), "tls": (*SV, "tls", "tls-certs-alert", "input.pcap"),
    "mqtt": (*SV, "mqtt5-pub-mosquittoprops", "input.pcap"), "modbus": (*SV, "modbus", "modbus.pcap"),
    "ssh": (*SV, "ssh-newkeys", "input.pcap"), "telnet": (*SV, "telnet", "telnet-01", "telnet.pcap"),
    "s7comm": (*ICS, "s7", "S7-1511-opc-request-all-types.pcap"), "bacnet": (*ICS, "BACnet", "bacnet_test.pcap"),
    "mms": (*ICS, "IEC61850", "8d7c7db0-9804-012b-b2a6-0016cb8cea27.pcap"),
    "enip": (*ICS, "EthernetIP", "cip_start_plc.pcap"),
    "dns": ("pcaps", "tcpdump_tests", "dns_tcp.pcap"), "dhcp": ("pcaps", "tcpdump_tests", "dhcp-rfc4388.pcap"),
    "dhcpv6": ("pcaps", "tcpdump_tests", "dhcpv6-ia-na.pcap"), "mdns": (*ICS, "profinet", "Profinet_Failed.pcap"),
    "llmnr": (*ICS, "beckoff", "addroute1.pcapng"), "fox": (*ICS, "fox", "fox_info.pcap"),
}
FUZZ_DEMO_PORTS = {"sip": 5060, "rtsp": 554, "smb": 445, "http": 80, "kerberos": 88, "pjl": 9100, "snmp": 161}
MUTANTS = 12
Frame = tuple[float, bytes, int, int, int]  # time, frame, link type, payload offset, payload length


def _frames(path: Path, port: int | None = None, limit: int = 250) -> list[Frame]:
    """The first ``limit`` frames of ``path`` (those to or from ``port`` if given) with their payload spans."""
    out: list[Frame] = []
    for batch in read_capture(path):
        h = decode(batch)
        for i in range(len(batch)):
            if port is not None and port not in (int(h.sport[i]), int(h.dport[i])):
                continue
            lo = int(batch.offsets[i])
            frame = bytes(batch.data[lo : lo + int(batch.caplen[i])])
            out.append((float(batch.ts[i]), frame, int(batch.linktype[i]), int(h.pay_off[i]) - lo, int(h.pay_len[i])))
            if len(out) == limit:
                return out
    return out


def _mutant(frames: list[Frame], rnd: random.Random) -> list[tuple[float, bytes, int]]:
    """``frames`` with one to four payloads edited (positions and values from ``rnd``)."""
    out = [(t, f, lt) for t, f, lt, _, _ in frames]
    carrying = [i for i, (*_, off, n) in enumerate(frames) if n > 0 and off >= 0]
    for _ in range(rnd.randint(1, 4) if carrying else 0):
        i = rnd.choice(carrying)
        t, frame, lt = out[i]
        off, n = frames[i][3], frames[i][4]
        body = bytearray(frame)
        pos = rnd.randrange(off, min(off + n, len(body))) if off < len(body) else len(body)
        op = rnd.randrange(6)
        if op == 0 and pos < len(body):
            for _ in range(rnd.randint(1, 8)):
                body[rnd.randrange(pos, len(body))] ^= 1 << rnd.randrange(8)
        elif op == 1:
            body[pos:pos] = rnd.randbytes(rnd.randint(1, 16))
        elif op == 2:
            del body[pos : pos + rnd.randint(1, 16)]
        elif op == 3:
            del body[pos:]
        elif op == 4:  # a length or count field set to an extreme
            body[pos : pos + 4] = rnd.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff", b"\x80"])
        elif len(body) > 14:  # a byte of the IP or transport header: other ports, lengths, flags, sequence numbers
            body[rnd.randrange(14, min(off, len(body)) if off > 14 else len(body))] = rnd.randrange(256)
        out[i] = (t, bytes(body), lt)
    return out


def _fuzz_corpus() -> list[object]:
    cases: list[object] = [pytest.param(("shared", parts), id=name) for name, parts in FUZZ_SHARED.items()]
    return cases + [pytest.param(("demo", port), id=name) for name, port in FUZZ_DEMO_PORTS.items()]


@pytest.mark.parametrize("source", _fuzz_corpus())
def test_fuzz_mutated_real_captures_crash_no_dissector(source: tuple[str, object]) -> None:
    kind, where = source
    if kind == "shared":
        frames = _frames(shared(*where))  # type: ignore[misc]
    else:
        frames = _frames(Path(iotwarden.lab.__file__).parent / "captures" / "demo.pcap", port=where)  # type: ignore[arg-type]
    assert frames
    baseline = Engine(_default_dissectors())
    baseline.process(batch_of([(t, f) for t, f, _, _, _ in frames], [lt for _, _, lt, _, _ in frames]))
    baseline.flush()
    assert sum(baseline.stats.protocols.values()) > 0  # the capture does reach a dissector unmutated
    for n in range(MUTANTS):
        mutant = _mutant(frames, random.Random(f"{kind}:{where}:{n}"))
        engine = Engine(_default_dissectors())
        for lo in range(0, len(mutant), 64):
            part = mutant[lo : lo + 64]
            engine.process(batch_of([(t, f) for t, f, _ in part], [lt for _, _, lt in part]))
        engine.flush()
        assert engine.stats.packets == len(mutant)
        assert not engine.stats.analyzer_errors, (n, dict(engine.stats.analyzer_errors))
        assert engine.open_flows() == 0
