"""802.11 link layer (bare and radiotap): data frames decode as behind Ethernet, other frames are counted by reason."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.engine.batch import LINKTYPE_IEEE802_11, LINKTYPE_IEEE802_11_RADIOTAP
from iotwarden.engine.core import Engine
from iotwarden.engine.decode import E_OK, E_SHORT_LINK, ERROR_REASONS, Headers, decode, mac48, mac_texts
from tests.sources.capbuild import batch_of, dot11_data, mac, radiotap, udp

DNS_QUERY = udp("10.0.0.5", "10.0.0.1", 5000, 53, b"hello")
BARE, RT = LINKTYPE_IEEE802_11, LINKTYPE_IEEE802_11_RADIOTAP
BEACON = struct.pack("<BBH", 0x80, 0, 0) + b"\xff" * 6 + mac(3) * 2 + b"\0\0" + b"\0" * 12 + b"\0\x03lab"
ACK = struct.pack("<BBH", 0xD4, 0, 0) + mac(1)  # control frame: frame control, duration, RA


def _decode(frames: list[bytes], linktype: int) -> Headers:
    return decode(batch_of([(float(i), f) for i, f in enumerate(frames)], linktype))


def _reasons(frames: list[bytes], linktype: int = RT) -> list[str]:
    return [ERROR_REASONS[e] or "ok" for e in _decode(frames, linktype).error.tolist()]


def _macs(frames: list[bytes], linktype: int) -> list[tuple[str | None, str | None]]:
    b = batch_of([(float(i), f) for i, f in enumerate(frames)], linktype)
    h = decode(b)
    return list(zip(mac_texts(mac48(b.data, h.src_mac_off)), mac_texts(mac48(b.data, h.dst_mac_off)), strict=True))


@pytest.mark.parametrize("linktype", [BARE, RT])
def test_source_and_destination_follow_table_9_26_for_every_ds_combination(linktype: int) -> None:
    """IEEE 802.11-2020 §9.3.2.1 Table 9-26: SA/DA sit in Address 1-4 according to To DS and From DS."""
    combos = [(False, False), (True, False), (False, True), (True, True)]
    frames = [dot11_data(DNS_QUERY, src=7, dst=9, bssid=3, tods=t, fromds=f) for t, f in combos]
    if linktype == RT:
        frames = [radiotap(f) for f in frames]
    h = _decode(frames, linktype)
    assert h.error.tolist() == [E_OK] * 4
    assert _macs(frames, linktype) == [("02:00:00:00:00:07", "02:00:00:00:00:09")] * 4
    assert h.ipver.tolist() == [4] * 4
    assert h.sport.tolist() == [5000] * 4
    assert h.dport.tolist() == [53] * 4


def test_qos_htc_and_four_address_headers_put_the_payload_where_it_is() -> None:
    frames = [
        dot11_data(DNS_QUERY),  # 24-byte header
        dot11_data(DNS_QUERY, qos=True),  # + QoS Control (2)
        dot11_data(DNS_QUERY, qos=True, htc=True),  # + HT Control (4)
        dot11_data(DNS_QUERY, tods=True, fromds=True, qos=True, htc=True),  # + Address 4 (6)
        dot11_data(DNS_QUERY, htc=True),  # Order without QoS: no HT Control (§9.2.4.1.10)
    ]
    b = batch_of([(float(i), f) for i, f in enumerate(frames)], BARE)
    h = decode(b)
    assert h.error.tolist() == [E_OK] * 5
    assert (h.l3_off - b.offsets).tolist() == [24 + 8, 26 + 8, 30 + 8, 36 + 8, 24 + 8]
    assert [b.data[o : o + n].tobytes() for o, n in zip(h.pay_off, h.pay_len, strict=True)] == [b"hello"] * 5


def test_radiotap_fcs_is_dropped_and_alignment_after_tsft_is_followed() -> None:
    plain = dot11_data(DNS_QUERY + b"trailer")  # bytes past the IP packet: counted by the link, not the payload
    frames = [radiotap(plain, flags=0x10), radiotap(plain, flags=0x10, tsft=True, extra_words=2), radiotap(plain)]
    b = batch_of([(float(i), f) for i, f in enumerate(frames)], RT)
    h = decode(b)
    assert h.error.tolist() == [E_OK] * 3
    ends = (b.offsets + b.caplen).tolist()
    assert h.l2_end.tolist() == [ends[0] - 4, ends[1] - 4, ends[2]]
    assert h.pay_len.tolist() == [5, 5, 5]


def test_an_fcs_cut_off_by_the_snap_length_is_not_dropped_again() -> None:
    frame = radiotap(dot11_data(udp("10.0.0.5", "10.0.0.1", 5000, 53, b"hello world!")), flags=0x10)
    b = batch_of([(1.0, frame)], RT)
    b.caplen[:] = len(frame) - 10  # snapped: the FCS and 6 bytes before it never reached the file
    h = decode(b)
    assert h.error[0] == E_OK
    assert h.l2_end[0] == len(frame) - 10
    assert (h.pay_len[0], h.pay_wire[0]) == (12 - 6, 12)


def test_data_pad_flag_aligns_the_body_to_four_bytes() -> None:
    """radiotap Flags 0x20: padding between the 802.11 header and the body (a QoS header of 26 bytes -> 28)."""
    qos = dot11_data(DNS_QUERY, qos=True)
    padded = qos[:26] + b"\0\0" + qos[26:]
    h = _decode([radiotap(padded, flags=0x20)], RT)
    assert (h.error[0], h.ipver[0], h.dport[0], h.pay_len[0]) == (E_OK, 4, 53, 5)


def test_arp_and_non_rfc1042_snap_reach_the_link_layer_path() -> None:
    arp = dot11_data(b"\0\1\x08\0\6\4\0\1" + b"\0" * 20, ethertype=0x0806)
    cdp = dot11_data(b"x" * 8)
    cdp = cdp[:24] + b"\xaa\xaa\x03\x00\x00\x0c\x20\x00" + b"cdp"
    h = _decode([radiotap(arp), radiotap(cdp)], RT)
    assert h.error.tolist() == [E_OK, E_OK]
    assert h.ethertype.tolist() == [0x0806, -1]
    assert h.snap.tolist() == [-1, (0x00000C << 16) | 0x2000]
    assert h.ipver.tolist() == [0, 0]


def test_frames_without_a_packet_are_counted_by_reason_never_decoded() -> None:
    body = dot11_data(DNS_QUERY)
    bad_version = bytes([body[0] | 1]) + body[1:]
    rt_v1 = b"\x01" + radiotap(body)[1:]
    rt_len_small = radiotap(body)[:2] + struct.pack("<H", 4) + radiotap(body)[4:]
    rt_len_big = radiotap(body)[:2] + struct.pack("<H", 4000) + radiotap(body)[4:]
    endless = struct.pack("<BBH", 0, 0, 44) + struct.pack("<I", 0x8000_0000) * 10  # every bitmap says "one more"
    flags_outside = struct.pack("<BBHI", 0, 0, 8, 2) + body  # Flags announced, header ends before it
    no_snap = body[:24] + b"\x42\x42\x03" + body[32:]
    cases = {
        "wlan_management": radiotap(BEACON),
        "wlan_control": radiotap(ACK),
        "wlan_protected": radiotap(dot11_data(DNS_QUERY, protected=True)),
        "wlan_null_data": radiotap(dot11_data(b"", subtype=4)),
        "wlan_null_data ": radiotap(dot11_data(b"", subtype=12)),  # QoS Null
        "wlan_fragment": radiotap(dot11_data(DNS_QUERY, fragment=2)),
        "wlan_amsdu": radiotap(dot11_data(DNS_QUERY, qos=True, amsdu=True)),
        "wlan_bad_version": radiotap(bad_version),
        "wlan_not_snap": radiotap(no_snap),
        "wlan_bad_fcs": radiotap(body, flags=0x50),
        "bad_radiotap_header": rt_v1,
        "bad_radiotap_header ": rt_len_small,
        "bad_radiotap_header  ": endless,
        "bad_radiotap_header   ": flags_outside,
        "short_link_header": rt_len_big,
        "short_link_header ": radiotap(body[:20]),
        "short_link_header  ": radiotap(dot11_data(DNS_QUERY, tods=True, fromds=True)[:28]),
        "short_link_header   ": b"\0\0\x08",
        "short_link_header    ": radiotap(b"\x08"),
    }
    assert _reasons(list(cases.values())) == [k.strip() for k in cases]
    h = _decode(list(cases.values()), RT)
    assert (h.ipver == 0).all()
    assert (h.pay_len == 0).all()
    addressed = [k for k, mac_off in zip(cases, h.src_mac_off.tolist(), strict=True) if mac_off >= 0]
    # a data frame with an unknown body still has its addresses; so has a beacon (its elements can be read)
    assert addressed == ["wlan_management", "wlan_not_snap"]


def test_bare_80211_frames_count_the_same_reasons() -> None:
    assert _reasons([BEACON, ACK, dot11_data(DNS_QUERY, protected=True), b"\x08\x01", dot11_data(DNS_QUERY)],
                    BARE) == ["wlan_management", "wlan_control", "wlan_protected", "short_link_header", "ok"]


def test_engine_stats_count_non_ip_frames_by_reason_and_flows_keep_the_station_macs() -> None:
    frames = [radiotap(BEACON), radiotap(BEACON), radiotap(ACK), radiotap(dot11_data(DNS_QUERY, protected=True)),
              radiotap(dot11_data(DNS_QUERY, src=7, dst=9, tods=True)),
              radiotap(dot11_data(udp("10.0.0.1", "10.0.0.5", 53, 5000, b"answer"), src=9, dst=7, tods=False,
                                  fromds=True))]
    engine = Engine([])
    engine.process(batch_of([(100.0 + i, f) for i, f in enumerate(frames)], RT))
    flows = engine.flush().flows
    assert dict(engine.stats.decode_errors) == {"wlan_management": 2, "wlan_control": 1, "wlan_protected": 1}
    assert engine.stats.packets == 6
    assert len(flows) == 1
    f = flows[0]
    assert (f.a_ip, f.b_ip, f.a_port, f.b_port, f.a_mac, f.b_mac, f.pkts_ab, f.pkts_ba) == (
        "10.0.0.5", "10.0.0.1", 5000, 53, "02:00:00:00:00:07", "02:00:00:00:00:09", 1, 1)


def test_other_link_types_in_the_same_batch_are_untouched() -> None:
    from tests.sources.capbuild import ethernet

    eth = ethernet(DNS_QUERY, src=7, dst=9)
    b = batch_of([(1.0, eth), (2.0, radiotap(dot11_data(DNS_QUERY, src=7, dst=9))), (3.0, eth)], [1, RT, 1])
    h = decode(b)
    alone = decode(batch_of([(1.0, eth)], 1))
    assert h.error.tolist() == [E_OK] * 3
    assert (h.src_mac_off[[0, 2]] - b.offsets[[0, 2]]).tolist() == [int(alone.src_mac_off[0])] * 2
    assert h.l2_end[[0, 2]].tolist() == (b.offsets + b.caplen)[[0, 2]].tolist()


WLAN_SAMPLES = [
    radiotap(dot11_data(DNS_QUERY, qos=True, htc=True), flags=0x10, tsft=True, extra_words=1),
    radiotap(struct.pack("<BBH", 0x40, 0x80, 0) + b"\xff" * 6 + mac(7) + mac(3) + b"\0" * 6 + b"\x00\x03lab",
             flags=0x10),  # a probe request with HT Control and its FCS
    radiotap(dot11_data(DNS_QUERY, tods=True, fromds=True), flags=0x20),
    dot11_data(DNS_QUERY, qos=True),
    radiotap(BEACON),
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(WLAN_SAMPLES) - 1), st.integers(0, 200), st.integers(0, 0xFFFF),
                          st.lists(st.tuples(st.integers(0, 120), st.integers(0, 255)), max_size=4)),
                min_size=1, max_size=12))
def test_fuzz_damaged_radiotap_lengths_and_truncated_headers_never_raise(
    cases: list[tuple[int, int, int, list[tuple[int, int]]]],
) -> None:
    """Valid frames with a random radiotap length, bytes flipped and a random cut: a reason or a packet, in bounds."""
    frames, types = [], []
    for sample, cut, rt_len, flips in cases:
        frame = bytearray(WLAN_SAMPLES[sample])
        is_rt = sample != 3
        if is_rt and rt_len % 3 == 0:
            frame[2:4] = struct.pack("<H", rt_len)
        for at, value in flips:
            if at < len(frame):
                frame[at] = value
        frames.append(bytes(frame[:cut]))
        types.append(RT if is_rt else BARE)
    b = batch_of([(float(i), f) for i, f in enumerate(frames)], types)
    h = decode(b)
    end = b.offsets + b.caplen
    ok = h.error == 0
    assert ((h.error >= 0) & (h.error < len(ERROR_REASONS))).all()
    assert (h.l2_end <= end).all()
    assert (h.pay_len >= 0).all()
    has = ok & (h.pay_len > 0)
    assert (h.pay_off[has] + h.pay_len[has] <= end[has]).all()
    assert (h.pay_len[~ok] == 0).all()
    macs = h.src_mac_off >= 0  # data frames and the management frames whose elements were located
    assert ((h.src_mac_off + 6 <= end) | ~macs).all()
    assert ((h.dst_mac_off + 6 <= end) | ~macs).all()
    mgmt = h.wlan_mgmt >= 0
    assert ((h.l3_off <= h.l2_end) | ~mgmt).all()
    assert np.isin(h.error[b.caplen == 0], [E_SHORT_LINK]).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([BARE, RT]), st.binary(max_size=90)), min_size=1, max_size=16))
def test_fuzz_random_80211_bytes_never_raise(frames: list[tuple[int, bytes]]) -> None:
    b = batch_of([(float(i), f) for i, (_, f) in enumerate(frames)], [lt for lt, _ in frames])
    engine = Engine([])
    engine.process(b)
    engine.flush()
    assert engine.stats.packets == len(frames)
    assert sum(engine.stats.decode_errors.values()) <= len(frames)


def _mgmt(subtype: int, body: bytes, *, flags: int = 0) -> bytes:
    """A management frame (§9.3.3.2) from station 7 to the broadcast address, BSSID 3."""
    return struct.pack("<BBH", subtype << 4, flags, 0) + b"\xff" * 6 + mac(7) + mac(3) + b"\0\0" + body


ELEMENTS = b"\x00\x03lab\x01\x01\x82"


def test_management_frames_point_at_their_elements_and_transmitter() -> None:
    """§9.3.3: Probe Request elements at once, Association Request after 4 octets, Reassociation after 10,
    Beacon after 12; +HTC adds the 4-octet HT Control; a protected or cut frame gives no elements."""
    frames = [
        _mgmt(4, ELEMENTS),
        _mgmt(0, b"\x31\x04\x0a\x00" + ELEMENTS),
        _mgmt(2, b"\x31\x04\x0a\x00" + mac(3) + ELEMENTS),
        _mgmt(4, b"\0\0\0\0" + ELEMENTS, flags=0x80),
        BEACON,
        _mgmt(4, ELEMENTS, flags=0x40),
        _mgmt(0, b"\x31\x04"),
        _mgmt(11, b"\0" * 6),  # Authentication: elements not located
    ]
    b = batch_of([(float(i), radiotap(f)) for i, f in enumerate(frames)], RT)
    h = decode(b)
    assert h.wlan_mgmt.tolist() == [4, 0, 2, 4, 8, -1, -1, -1]
    assert _reasons([radiotap(f) for f in frames]) == ["wlan_management"] * 8
    starts = [b.data[o : o + len(ELEMENTS)].tobytes() for o in h.l3_off[:4].tolist()]
    assert starts == [ELEMENTS] * 4
    srcs = mac_texts(mac48(b.data, h.src_mac_off))
    assert srcs[:4] == ["02:00:00:00:00:07"] * 4
    assert srcs[5:] == [None] * 3


def test_the_engine_hands_requests_to_the_dissector_that_declares_them() -> None:
    from iotwarden.dissect.wps import WpsDissector

    wsc = b"\xdd\x0d\x00\x50\xf2\x04" + struct.pack(">HH", 0x1021, 5) + b"Canon"
    frames = [radiotap(_mgmt(4, ELEMENTS + wsc)), radiotap(_mgmt(0, b"\x31\x04\x0a\x00" + wsc)),
              radiotap(_mgmt(2, b"\x31\x04\x0a\x00" + mac(3) + wsc)), radiotap(BEACON + wsc),
              radiotap(dot11_data(DNS_QUERY))]
    engine = Engine([WpsDissector()])
    obs = engine.process(batch_of([(float(i), f) for i, f in enumerate(frames)], RT)).observations
    # each observation says which request carried the WSC element (the frame's subtype, Table 9-1)
    assert [(o.kind, o.src_mac, o.fields) for o in obs] == [
        ("device_info", "02:00:00:00:00:07", {"manufacturer": "Canon", "frame": frame})
        for frame in ("probe_request", "association_request", "reassociation_request")]
    assert engine.stats.protocols["wps"] == 3
    assert dict(engine.stats.decode_errors) == {"wlan_management": 4}
