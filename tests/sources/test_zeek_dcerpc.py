"""Zeek's dce_rpc.log read as dissect/dcerpc.py describes packets: the same interface facts and the same
remote-execution and DCSync alerts from a Zeek sensor's logs as from the capture of the same calls."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iotwarden.detect.remote_exec import DCSYNC, REMOTE_EXEC
from iotwarden.errors import ParseError
from iotwarden.sources.zeek import read_zeek, sniff_zeek
from iotwarden.sources.zeek_dcerpc import map_dce_rpc
from tests.detect.runner import detect
from tests.dissect.dcerpc_pdus import (
    DRSUAPI,
    EPM,
    SVCCTL,
    bind,
    bind_ack,
    mac_of,
    request,
    response,
    write_sessions,
)
from tests.sources.zeeklog import CONN_COLUMNS, FORMATS, ID_COLUMNS, conn_row, write_log

T0 = 1_700_000_000.0
CAMERA, WORKSTATION, DC1, DC2, SERVER = "10.4.0.30", "10.4.0.50", "10.4.0.10", "10.4.0.11", "10.4.0.20"
# DCE_RPC::Info (base/protocols/dce-rpc/main.zeek), in its column order
DCE_RPC_COLUMNS = [*ID_COLUMNS, ("rtt", "interval"), ("named_pipe", "string"), ("endpoint", "string"),
                   ("operation", "string")]


def _rec(**kw: object) -> dict[str, object]:
    return {"ts": T0, "uid": "Crpc1", "id.orig_h": CAMERA, "id.orig_p": 50001, "id.resp_h": SERVER,
            "id.resp_p": 445, "rtt": 0.002, "named_pipe": "\\pipe\\svcctl", "endpoint": "svcctl",
            "operation": "CreateServiceW", **kw}


def test_an_answered_call_is_the_clients_bind_and_request_and_the_servers_ack_and_response() -> None:
    obs = map_dce_rpc(_rec())
    assert [(o.kind, o.src_ip) for o in obs] == [("bind", CAMERA), ("bind_ack", SERVER), ("request", CAMERA),
                                                 ("response", SERVER)]
    assert obs[0].fields["requested_interfaces"] == ["svcctl"]
    assert obs[0].fields["contexts"] == [{"context_id": 0, "uuid": SVCCTL, "interface": "svcctl"}]
    assert obs[1].fields["accepted_interfaces"] == ["svcctl"]
    assert obs[1].fields["secondary_address"] == "\\pipe\\svcctl"
    assert (obs[2].fields["interface"], obs[2].fields["operation"], obs[2].fields["opnum"]) == (
        "svcctl", "CreateServiceW", 12)


def test_an_unanswered_call_proves_no_accepted_interface() -> None:
    assert [o.kind for o in map_dce_rpc(_rec(rtt=None))] == ["bind", "request"]


def test_zeeks_unknown_names_keep_the_uuid_and_the_opnum() -> None:
    obs = map_dce_rpc(_rec(endpoint="unknown-01234567-89ab-cdef-0123-456789abcdef", operation="unknown-7"))
    request_obs = next(o for o in obs if o.kind == "request")
    assert obs[0].fields["requested_interfaces"] == ["01234567-89ab-cdef-0123-456789abcdef"]
    assert (request_obs.fields.get("operation"), request_obs.fields["opnum"]) == (None, 7)
    assert [o.kind for o in obs] == ["bind", "bind_ack", "request"]  # no named call: no response, as the dissector
    # an interface Zeek names and we do not list, and an operation name we do not list, are kept as Zeek wrote them
    other = map_dce_rpc(_rec(endpoint="spoolss", operation="RpcOpenPrinter"))
    assert (other[2].fields["interface"], other[2].fields["operation"], other[2].fields.get("opnum")) == (
        "spoolss", "RpcOpenPrinter", None)
    # names compare without case, as Zeek and the table spell them alike
    assert map_dce_rpc(_rec(endpoint="DRSUAPI", operation="drsgetncchanges"))[2].fields["operation"] == \
        "DRSGetNCChanges"


def test_an_unknown_opnum_of_an_interface_we_list_is_named_from_our_table() -> None:
    # a Zeek whose operations table lacks drsuapi's opnum 3 logs DCSync's call "unknown-3": it still names the call
    obs = map_dce_rpc(_rec(endpoint="drsuapi", operation="unknown-3"))
    assert [o.kind for o in obs] == ["bind", "bind_ack", "request", "response"]
    assert (obs[2].fields["interface"], obs[2].fields["operation"], obs[2].fields["opnum"]) == (
        "drsuapi", "DRSGetNCChanges", 3)
    unlisted = map_dce_rpc(_rec(endpoint="drsuapi", operation="unknown-99"))  # an opnum the table lacks stays a number
    assert (unlisted[2].fields.get("operation"), unlisted[2].fields["opnum"]) == (None, 99)


def test_a_line_without_addresses_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        map_dce_rpc(_rec(**{"id.resp_h": None}))


@given(st.dictionaries(st.sampled_from([c[0] for c in DCE_RPC_COLUMNS]),
                       st.one_of(st.none(), st.text(max_size=40), st.integers(), st.floats()), max_size=10))
def test_fuzz_records_give_observations_or_a_parse_error(rec: dict[str, object]) -> None:
    with contextlib.suppress(ParseError):
        map_dce_rpc(rec)


# (client, server, client port, server port, [(interface, opnum, operation as Zeek names it)])
CALLS = [
    (WORKSTATION, DC1, 50010, 135, [(EPM, "epmapper", 3, 3, "ept_map")]),
    (DC2, DC1, 50011, 49667, [(DRSUAPI, "drsuapi", 4, 0, "DRSBind"), (DRSUAPI, "drsuapi", 4, 3, "DRSGetNCChanges")]),
    (DC1, DC2, 50012, 49667, [(DRSUAPI, "drsuapi", 4, 0, "DRSBind"), (DRSUAPI, "drsuapi", 4, 3, "DRSGetNCChanges")]),
    (WORKSTATION, DC1, 50013, 49667, [(DRSUAPI, "drsuapi", 4, 3, "DRSGetNCChanges")]),
    (CAMERA, SERVER, 50014, 49670, [(SVCCTL, "svcctl", 2, 15, "OpenSCManagerW"), (SVCCTL, "svcctl", 2, 12,
                                                                                "CreateServiceW"),
                                    (SVCCTL, "svcctl", 2, 19, "StartServiceW")]),
]


def _capture(path: Path) -> Path:
    sessions = []
    for client, server, cport, sport, calls in CALLS:
        iface, major = calls[0][0], calls[0][2]
        pdus = [(True, bind([(0, iface, major)])), (False, bind_ack(str(sport), [0]))]
        for i, (_, _, _, opnum, _) in enumerate(calls):
            pdus += [(True, request(0, opnum, call_id=2 + i)), (False, response(0, call_id=2 + i))]
        sessions.append((client, server, cport, sport, pdus))
    write_sessions(str(path), sessions, start=T0)
    return path


def _logs(folder: Path, fmt: str) -> Path:
    conn, rpc = [], []
    for n, (client, server, cport, sport, calls) in enumerate(CALLS):
        ts, uid = T0 + n, f"Crpc{n}"
        conn.append(conn_row(ts, uid, (client, cport, mac_of(client)), (server, sport, mac_of(server)), proto="tcp",
                             service="dce_rpc"))
        rpc += [[f"{ts + 0.01 * (i + 1):.6f}", uid, client, str(cport), server, str(sport), "0.000400", str(sport),
                 name, operation] for i, (_, name, _, _, operation) in enumerate(calls)]
    write_log(folder, "conn", CONN_COLUMNS, conn, fmt)
    write_log(folder, "dce_rpc", DCE_RPC_COLUMNS, rpc, fmt)
    return folder


def _alerts(paths: list[Path]) -> list[tuple[str, str | None, str | None, str]]:
    return sorted((a.id, a.src_ip, a.dst_ip, a.severity) for a in detect(paths).alerts
                  if a.id in (REMOTE_EXEC, DCSYNC))


@pytest.mark.parametrize("fmt", FORMATS)
def test_zeek_lines_raise_the_alerts_the_packets_raise(tmp_path: Path, fmt: str) -> None:
    folder = _logs(tmp_path / "zeek", fmt)
    assert sniff_zeek(folder / "dce_rpc.log") == "dce_rpc"
    from_zeek = _alerts([folder])
    from_packets = _alerts([_capture(tmp_path / "rpc.pcap")])
    assert from_zeek == from_packets == [(DCSYNC, WORKSTATION, DC1, "critical"),
                                         (REMOTE_EXEC, CAMERA, SERVER, "high")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_zeek_lines_carry_conn_logs_macs_and_the_flows_are_dcerpc(tmp_path: Path, fmt: str) -> None:
    batches = list(read_zeek(_logs(tmp_path / "zeek", fmt)))
    obs = [o for b in batches for o in b.observations]
    ack = next(o for o in obs if o.kind == "bind_ack" and o.src_ip == DC1)
    assert (ack.src_mac, ack.dst_mac) == (mac_of(DC1), mac_of(WORKSTATION))
    assert {f.app for b in batches for f in b.flows} == {"dcerpc"}
