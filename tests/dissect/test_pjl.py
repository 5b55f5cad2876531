"""PJL on JetDirect's tcp/9100 (HP PJL Technical Reference Manual): the command names a driver sends before its job and
the printer's status readback replies; job content and the driver's job and user names never kept, bare print
jobs dropped at once, every byte split, limits, malformed and hostile input."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import default_dissectors
from iotwarden.dissect.base import Packet
from iotwarden.dissect.pjl import (
    MAX_COMMANDS,
    MAX_LANGUAGES,
    MAX_LINE,
    MAX_REPLIES,
    MAX_REPLY,
    UEL,
    PjlDissector,
)
from iotwarden.dissect.streambuf import PartialParse
from iotwarden.engine.core import Engine
from iotwarden.lab import proto_app
from iotwarden.lab.wire import Host, TcpStream
from iotwarden.model import CaptureStats, Flow, Observation
from iotwarden.sources.capfile import read_capture
from tests.conftest import shared
from tests.dissect import resegment
from tests.dissect.hostile import TCPDUMP_CAPTURES, feed_capture_any_port, feed_chunks, mutate
from tests.dissect.test_streambuf_resegmented import assert_invariant

# an HP Windows driver's job header with bidirectional status (PJL Tech Ref: JOB, SET, INFO, USTATUS, ENTER)
DRIVER_JOB = (UEL + b'@PJL JOB NAME="Q3 salaries.xlsx" DISPLAY="alice 12:01"\r\n'
              b'@PJL SET USERNAME="alice.smith"\r\n@PJL COMMENT "alice on WS-FIN-01"\r\n'
              b"@PJL INFO ID\r\n@PJL INFO CONFIG\r\n@PJL USTATUS DEVICE=ON\r\n@PJL SET RESOLUTION=600\r\n"
              b"@PJL ENTER LANGUAGE = PCL\r\n\x1bE\x1b&l0O@PJL INFO STATUS\r\n" + b"\x00\x1b*b" * 500
              + b"\x1bE" + UEL + b'@PJL EOJ NAME="Q3 salaries.xlsx"\r\n' + UEL)
INFO_ID = b'@PJL INFO ID\r\n"HP LaserJet 4250"\r\n\x0c'
INFO_CONFIG = (b"@PJL INFO CONFIG\r\nIN TRAYS [3 ENUMERATED]\r\n\tINTRAY1 MP\r\n\tINTRAY2 PC\r\n\tINTRAY3 LC\r\n"
               b"DUPLEX\r\nLANGUAGES [3 ENUMERATED]\r\n\tPCL\r\n\tPOSTSCRIPT\r\n\tPCLXL\r\n"
               b"USTATUS [4 ENUMERATED]\r\n\tDEVICE\r\n\tJOB\r\n\tPAGE\r\n\tTIMED\r\nMEMORY=134217728\r\n\x0c")
USTATUS_DEVICE = b'@PJL USTATUS DEVICE\r\nCODE=10001\r\nDISPLAY="00 READY"\r\nONLINE=TRUE\r\n\x0c'
USTATUS_JOB = b'@PJL USTATUS JOB\r\nEND\r\nNAME="Q3 salaries.xlsx"\r\nRESULT=OK\r\nPAGES=2\r\n\x0c'
REPLIES = INFO_ID + INFO_CONFIG + USTATUS_DEVICE + USTATUS_JOB


def pjl(chunks: list[tuple[bool, bytes]]) -> list[Observation]:
    return feed_chunks(PjlDissector(), chunks)


def of(obs: list[Observation], kind: str) -> list[dict[str, Any]]:
    return [o.fields for o in obs if o.kind == kind]


def test_a_drivers_job_gives_its_command_names_only() -> None:
    obs = pjl([(True, DRIVER_JOB)])
    assert [f["command"] for f in of(obs, "command")] == [
        "JOB", "SET USERNAME", "COMMENT", "INFO ID", "INFO CONFIG", "USTATUS DEVICE", "SET RESOLUTION",
        "ENTER LANGUAGE"]
    assert of(obs, "command")[-1]["language"] == "PCL"
    text = repr(obs)
    assert "alice" not in text and "salaries" not in text and "WS-FIN" not in text
    # the '@PJL INFO STATUS' inside the PCL data and the EOJ after it are job bytes: never read
    assert all(o.subject == "src" and o.src_ip == "10.0.0.1" for o in obs)


def test_the_printers_replies_name_its_model_languages_and_status_never_the_job() -> None:
    obs = pjl([(True, DRIVER_JOB), (False, REPLIES)])
    replies = of(obs, "reply")
    assert [r["category"] for r in replies] == ["INFO ID", "INFO CONFIG", "USTATUS DEVICE", "USTATUS JOB"]
    assert replies[0]["model"] == "HP LaserJet 4250"
    assert replies[1]["languages"] == ["PCL", "POSTSCRIPT", "PCLXL"]
    assert (replies[2]["status_code"], replies[2]["display"], replies[2]["online"]) == (10001, "00 READY", True)
    assert replies[3] == {"category": "USTATUS JOB", "model": None, "languages": [], "status_code": None,
                          "display": None, "online": None}  # a job's name and result are not kept
    assert all(o.src_ip == "10.0.0.2" for o in obs if o.kind == "reply")


def test_split_at_every_byte() -> None:
    whole = pjl([(True, DRIVER_JOB), (False, REPLIES)])
    split = pjl([*((True, DRIVER_JOB[i:i + 1]) for i in range(len(DRIVER_JOB))),
                 *((False, REPLIES[i:i + 1]) for i in range(len(REPLIES)))])
    assert [(o.kind, o.fields) for o in split] == [(o.kind, o.fields) for o in whole]


def test_an_echo_reply_keeps_no_text_and_postscript_status_is_refused() -> None:
    (echo,) = of(pjl([(True, b"@PJL ECHO hello alice\r\n"), (False, b"@PJL ECHO hello alice\r\n\x0c")]), "reply")
    assert echo["category"] == "ECHO"
    assert of(pjl([(True, b"@PJL INFO ID\r\n"), (False, b"%%[ status: idle ]%%\r\n")]), "reply") == []


@pytest.mark.parametrize("job", [
    b"\x1bE\x1b&l0O" + b"\x00" * 3000,  # bare PCL
    b"%!PS-Adobe-3.0\n%%Title: payroll\n" + b"x" * 3000,  # PostScript
    b"%PDF-1.7\n" + b"\x00" * 3000,
    b"Plain text printed raw\r\n" * 100,
])
def test_a_bare_job_is_dropped_at_once_without_error(job: bytes) -> None:
    d, state = PjlDissector(), {}
    pkt = Packet(ts=1.0, payload=job, src_ip="10.0.0.1", dst_ip="10.0.0.2", ip_proto=6, src_port=40000,
                 dst_port=9100, to_server=True)
    assert d.feed(pkt, job, state) == [] and state["done"] is True
    assert not any(isinstance(v, bytearray) and v for v in state.values())  # nothing of it is held


def test_a_job_after_the_uel_without_pjl_lines_is_not_read() -> None:
    obs = pjl([(True, UEL + b"\x1bE" + b"@PJL INFO ID\r\n" * 5), (False, INFO_ID)])
    assert of(obs, "command") == [] and of(obs, "reply")[0]["model"] == "HP LaserJet 4250"


def test_the_lab_raw_print_job_is_read_as_the_lab_builds_it() -> None:
    job = proto_app.pjl_job(random.Random(1), "job123", 5000)
    assert [f["command"] for f in of(pjl([(True, job)]), "command")] == ["JOB", "ENTER LANGUAGE"]


@pytest.mark.parametrize(("payload", "to_server", "expect"), [
    (UEL + b"@PJL JOB\r\n", True, True), (b"@PJL INFO ID\r\n", True, True), (b"@PJL INFO ID\r\n", False, False),
    (b"\x1bE", True, False), (b"%!PS", True, False), (UEL + b"\x1bE", True, False),
])
def test_probe(payload: bytes, to_server: bool, expect: bool) -> None:
    assert PjlDissector().probe(payload, to_server) is expect


def test_found_by_its_first_bytes_never_by_the_port_alone() -> None:
    (d,) = [d for d in default_dissectors() if d.name == "pjl"]
    assert d.tcp_ports == () and d.probe(UEL + b"@PJL", True)


def engine_run(path: Path) -> tuple[list[Observation], list[Flow], CaptureStats]:
    """Observations, flows and stats of the engine with the default dissectors over ``path``."""
    engine, obs, flows = Engine(), [], []
    for batch in read_capture(path):
        res = engine.process(batch)
        obs, flows = obs + res.observations, flows + res.flows
    res = engine.flush()
    return obs + res.observations, flows + res.flows, engine.stats


def test_what_else_reaches_9100_is_no_pjl_and_no_error(tmp_path: Path) -> None:
    """Prometheus' node_exporter serves HTTP on 9100 (its README: 'listens on HTTP port 9100 by default'): the
    scrape is HTTP's; bare jobs name nothing; a job on JetDirect's second port (9101) is read as on 9100."""
    rng = random.Random(9101)
    client, printer = Host("02:00:00:00:00:01", "10.9.0.10"), Host("02:00:00:00:00:02", "10.9.0.20")
    scrape = (b"GET /metrics HTTP/1.1\r\nHost: 10.9.0.20:9100\r\nUser-Agent: Prometheus/2.45.0\r\n\r\n",
              b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: 5\r\n\r\nup 1\n")
    frames = TcpStream(rng, client, 40001, printer, 9100).session(1.0, [(True, scrape[0]), (False, scrape[1])])
    for i, job in enumerate((b"\x1bE\x1b&l0O" + bytes(3000), b"%!PS-Adobe-3.0\n" + bytes(3000), b"text\r\n" * 9)):
        frames += TcpStream(rng, client, 40002 + i, printer, 9100).session(2.0 + i, [(True, job)])
    frames += TcpStream(rng, client, 40009, printer, 9101).session(9.0, [(True, DRIVER_JOB), (False, INFO_ID)])
    resegment.write_frames(tmp_path / "9100.pcap", 1, frames)
    obs, flows, stats = engine_run(tmp_path / "9100.pcap")
    assert [(f.b_port, f.app, f.extra.get("failed_services")) for f in sorted(flows, key=lambda f: f.a_port)] == [
        (9100, "http", None), (9100, None, None), (9100, None, None), (9100, None, None), (9101, "pjl", None)]
    assert not stats.parse_errors
    assert [o.fields["model"] for o in obs if o.proto == "pjl" and o.kind == "reply"] == ["HP LaserJet 4250"]
    assert any(o.proto == "http" and o.kind == "request" for o in obs)


# ---- limits (STYLE 7) ----

def test_commands_and_replies_per_flow_are_bounded() -> None:
    obs = pjl([(True, UEL + b"@PJL INFO ID\r\n" * (MAX_COMMANDS + 5)), (False, INFO_ID * (MAX_REPLIES + 5))])
    assert len(of(obs, "command")) == MAX_COMMANDS and len(of(obs, "reply")) == MAX_REPLIES


def test_a_line_or_reply_over_its_limit_closes_that_direction() -> None:
    long_line = UEL + b"@PJL COMMENT " + b"x" * MAX_LINE + b"\r\n@PJL INFO ID\r\n"
    assert of(pjl([(True, long_line)]), "command") == []
    long_reply = b"@PJL INFO ID\r\n" + b"x" * MAX_REPLY + b"\x0c" + INFO_ID
    assert of(pjl([(True, b"@PJL INFO ID\r\n"), (False, long_reply)]), "reply") == []
    # without its form feed: the buffer bound (streambuf) ends the flow, whatever the cut
    cut = [(False, b"@PJL INFO ID\r\n" + b"y" * 100)] * (MAX_REPLY // 100 + 2)
    assert of(pjl([(True, b"@PJL INFO ID\r\n"), *cut]), "reply") == []


def test_languages_are_bounded() -> None:
    many = b"@PJL INFO CONFIG\r\nLANGUAGES [40 ENUMERATED]\r\n" + b"".join(
        b"\tLANG%d\r\n" % i for i in range(40)) + b"\x0c"
    (reply,) = of(pjl([(True, b"@PJL INFO CONFIG\r\n"), (False, many)]), "reply")
    assert reply["languages"] == [f"LANG{i}" for i in range(MAX_LANGUAGES)]


# ---- malformed and hostile input (STYLE 13) ----

def _partial(to_server: bool, data: bytes) -> list[Observation]:
    """What a feed that breaks part way made (streambuf.PartialParse carries it to the engine)."""
    d, state = PjlDissector(), {"pjl": True}
    ends = (("10.0.0.1", 40000), ("10.0.0.2", 9100))
    (sip, sport), (dip, dport) = ends if to_server else ends[::-1]
    pkt = Packet(ts=1.0, payload=data, src_ip=sip, dst_ip=dip, ip_proto=6, src_port=sport, dst_port=dport,
                 to_server=to_server)
    with pytest.raises(PartialParse) as caught:
        d.feed(pkt, data, state)
    assert state[f"closed_{'c2s' if to_server else 's2c'}"] is True
    return caught.value.made


def test_a_broken_command_line_keeps_what_came_before() -> None:
    made = _partial(True, UEL + b"@PJL INFO ID\r\n@PJL \x00\x01\r\n@PJL INFO STATUS\r\n")
    assert [o.fields["command"] for o in made] == ["INFO ID"]


def test_garbage_from_the_printer_keeps_the_good_reply_before_it() -> None:
    made = _partial(False, INFO_ID + b"\xff\xfe garbage\x0c" + USTATUS_DEVICE)
    assert [o.fields["model"] for o in made] == ["HP LaserJet 4250"]


@pytest.mark.parametrize("name", TCPDUMP_CAPTURES)
def test_tcpdump_captures_on_any_port_keep_the_contract(name: str) -> None:
    feed_capture_any_port(PjlDissector(), shared("pcaps", "tcpdump_tests", name))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_fuzz_random_bytes_keep_the_contract(data: bytes, to_server: bool) -> None:
    pjl([(True, b"@PJL INFO ID\r\n"), (to_server, data), (to_server, data)])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 255)), max_size=8), st.integers(0, 5000))
def test_fuzz_mutated_exchanges(edits: list[tuple[int, int]], cut: int) -> None:
    job, replies = mutate(DRIVER_JOB, edits, cut), mutate(REPLIES, edits, cut)
    for o in pjl([(True, job[: len(job) // 2]), (True, job[len(job) // 2:]), (False, replies)]):
        # what a mutation turns into another reply's text is that reply's to the wire; the whole exchanges' tests
        # pin what is never kept
        assert o.kind in ("command", "reply") and o.subject == "src"


# ---- however the sender's bytes were cut (tests/dissect/resegment.py) ----

def test_a_job_and_its_replies_observe_the_same_coalesced_or_cut_into_pieces(tmp_path: Path) -> None:
    """The driver's PJL header before 60 KB of PCL, the printer's replies, then a bare PostScript job on a second
    connection: GRO super-packets and 1-7 byte pieces give the Observations of the wire as sent."""
    rng = random.Random(9100)
    client, printer = Host("02:00:00:00:00:01", "10.9.0.10"), Host("02:00:00:00:00:02", "10.9.0.20")
    first = TcpStream(rng, client, 49100, printer, 9100)
    frames = first.session(1_700_000_000.0, [(True, DRIVER_JOB + rng.randbytes(60_000)), (False, REPLIES)])
    frames += TcpStream(rng, client, 49101, printer, 9100).session(
        first.t + 1, [(True, b"%!PS-Adobe-3.0\n" + rng.randbytes(30_000))])
    resegment.write_frames(tmp_path / "pjl.pcap", 1, frames)
    seen, stats = assert_invariant(tmp_path / "pjl.pcap", tmp_path)
    kinds = sorted(k[1] for k in seen["pjl"].elements())
    assert kinds == ["command"] * 8 + ["reply"] * 4
    assert all(not s.parse_errors for s in stats)  # a bare job is no error


def test_a_status_code_in_other_scripts_digits_is_no_number() -> None:
    """str.isdigit() takes '²' (and Devanagari digits), int() refuses them: found by the fuzz test above."""
    from iotwarden.dissect.pjl import _reply_fields

    fields = _reply_fields('@PJL INFO STATUS\r\nCODE=\u00b20001\r\nDISPLAY="READY"\r\nONLINE=TRUE\r\n')
    assert fields is not None and fields["status_code"] is None and fields["online"] is True
    assert (_reply_fields("@PJL INFO STATUS\r\nCODE=10001\r\n") or {})["status_code"] == 10001
