"""The sensor->worker wire format: records round-trip, a batch is cut into messages of at most max_bytes
in order (the tick only on the last), and malformed envelopes or records are refused or counted."""

from __future__ import annotations

import json

import pytest

from iotwarden.errors import ParseError
from iotwarden.model import Flow, Observation
from iotwarden.services.records import SCHEMA, Encoder, decode, tick_of


def _obs(i: int) -> Observation:
    return Observation(ts=float(i), proto="dhcp", kind="request", src_mac="00:11:22:33:44:55", src_ip="10.0.0.2",
                       fields={"hostname": f"host-{i}", "options": [1, 3, 6]})


def _flow(i: int) -> Flow:
    return Flow(vlan=0, ip_proto=6, a_ip="10.0.0.2", a_port=40000 + i, b_ip="10.0.0.1", b_port=80,
                first_seen=1.5 + i, last_seen=2.25 + i, pkts_ab=3, app="http", extra={"note": "x"})


def test_records_round_trip_in_order_within_the_size_limit() -> None:
    enc = Encoder("hq", "run1", "a.pcap", max_bytes=4096)
    out = enc.batch([_obs(i) for i in range(40)], [_flow(i) for i in range(30)], tick=99.5, packets=1000)
    assert len(out) > 2 and all(len(payload) <= 4096 for _, payload in out)
    msgs = [decode(payload) for _, payload in out]
    assert [m.seq for m in msgs] == list(range(len(out))) and [i for i, _ in out] == [m.msg_id for m in msgs]
    assert [m.tick for m in msgs] == [None] * (len(out) - 1) + [99.5]
    assert sum(m.packets for m in msgs) == 1000
    assert [o for m in msgs for o in m.observations] == [_obs(i) for i in range(40)]
    assert [f for m in msgs for f in m.flows] == [_flow(i) for i in range(30)]
    assert enc.batch([], [], tick=None) == []  # nothing to say: no message
    [(_, end)] = enc.batch([], [], tick=None, end=True, stats={"packets": 5, "status": "complete"})
    assert decode(end).end and decode(end).stats["packets"] == 5 and decode(end).seq == len(out)


def test_a_record_too_large_or_not_json_is_dropped_and_counted() -> None:
    enc = Encoder("hq", "run1", "a.pcap", max_bytes=4096)
    big = _obs(1)
    big.fields["blob"] = "x" * 5000
    nan = _obs(2)
    nan.fields["value"] = float("nan")
    [(_, payload)] = enc.batch([big, nan, _obs(3)], [], tick=1.0)
    assert enc.dropped == 2 and decode(payload).observations == [_obs(3)]


@pytest.mark.parametrize("payload", [b"\xff\xfe", b"[]", b'{"schema":"x"}', json.dumps({"schema": SCHEMA}).encode(),
                                     json.dumps({"schema": SCHEMA, "site": "a", "run": "r", "seq": -1}).encode(),
                                     json.dumps({"schema": SCHEMA, "site": "a", "run": "r", "seq": 0,
                                                 "flows": {}}).encode(),
                                     b"[" * 3000 + b"]" * 3000])  # deeper than json's parser recurses
def test_a_malformed_envelope_is_a_parse_error(payload: bytes) -> None:
    with pytest.raises(ParseError):
        decode(payload)


def test_records_failing_their_checks_are_skipped_and_counted() -> None:
    good = _flow(0).to_dict()
    bad = [{**good, "pkts_ab": "many"}, {**good, "a_ip": None}, {**good, "first_seen": "now"}, 5, {**good, "app": 1}]
    obs_bad = [{"ts": 1, "proto": "dns"}, {"ts": 1, "proto": "dns", "kind": "q", "subject": "them"},
               {"ts": 1, "proto": "dns", "kind": "q", "src_port": "53"},
               *({"ts": 1, "proto": "dns", "kind": "q", "vni": vni} for vni in (5, [1, 2, 3], ["1"]))]
    msg = decode(json.dumps({"schema": SCHEMA, "site": "a", "run": "r", "seq": 0, "flows": [good, *bad],
                             "observations": obs_bad}).encode())
    assert msg.flows == [_flow(0)] and msg.observations == [] and msg.malformed == len(bad) + len(obs_bad)


def test_an_observations_vnis_travel() -> None:
    obs = _obs(1)
    obs.vlan, obs.vni = 20, (4001, 1)
    [(_, payload)] = Encoder("hq", "run1", "a.pcap").batch([obs], [], tick=1.0)
    assert decode(payload).observations == [obs]
    assert decode(payload).observations[0].domain == "vni4001/vni1/vlan20"


def test_the_tick_follows_the_analyze_rule() -> None:
    assert tick_of(5.0, [_flow(9)]) == 5.0
    assert tick_of(None, [_flow(1), _flow(3)]) == 5.25
    assert tick_of(None, []) is None
