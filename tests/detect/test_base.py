"""Detector base and registry: declared stable ids with ATT&CK techniques, options validated once, flow
facts (failed attempt, established, internal address, subject key), and hostile observation fields or odd
flows never crash a detector (fuzzed, bounded)."""

from __future__ import annotations

import random
import re
from collections import deque
from dataclasses import fields

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.addons import DEFAULT_ANALYZERS
from iotwarden.detect import DETECTORS, PIPELINE, all_ids, default_detectors, detector_classes
from iotwarden.detect.base import Detector, Options, flow_domain, site_host
from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.model import Flow, Observation
from tests.detect.runner import feed

ID = re.compile(r"^detect(\.[a-z0-9_]+)+$")
PROTOS = ["arp", "dhcp", "dns", "http", "telnet", "ftp", "mqtt", "modbus", "s7comm", "dnp3", "enip", "tls",
          "dcerpc", "dht", "kerberos", "ldap", "mms", "rdp", "rtsp", "sip", "smb"]  # every proto a detector observes
KINDS = ["request", "response", "query", "login_attempt", "connack", "job", "cip_request", "offer", "ack", "reply",
         "ack_data", "alter_context_resp", "as_rep", "as_req", "bind_ack", "connection_request", "encrypted_turns",
         "error", "failure", "file_write", "gratuitous", "negotiation_failure", "rdp_gateway", "tgs_rep", "tgs_req",
         "tree_connect", "userdata"]
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True),
                      st.text(max_size=40))
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=10), inner, max_size=4), max_leaves=12)
FIELD_NAMES = ["qname", "qtype", "answers", "function", "function_code", "is_write", "umas_code", "service_name",
               "class", "sender_mac", "sender_ip", "target_ip", "gratuitous", "probe", "server_id", "result",
               "status", "return_code", "yiaddr",
               # every field a detector reads (grep 'fields.get(' in detect/)
               "host", "share", "rdp_gateway", "operation", "variables", "username", "user_agent", "method",
               "interface", "file", "cname", "client", "www_authenticate", "uri", "turns", "target_port",
               "target_host", "sname", "share_inferred", "share_class", "service", "server", "routers",
               "preauth_proved", "preauth", "pipe_inferred", "interface_inferred", "error_code", "created",
               "client_name", "basic_user", "authorization_scheme", "accepted_interfaces"]


def test_ids_are_stable_unique_and_registered_after_the_inventory() -> None:
    ids = all_ids()
    assert len(ids) == len(set(ids)) and all(ID.match(i) for i in ids)
    assert DEFAULT_ANALYZERS[-1] == PIPELINE
    assert list(DEFAULT_ANALYZERS[-len(DETECTORS) - 1 : -1]) == list(DETECTORS)
    for cls in detector_classes():
        assert cls.__module__.startswith(("iotwarden.detect.", "iotwarden.policy.")) and cls.ids
        doc = __import__(cls.__module__, fromlist=["x"]).__doc__
        assert all(i in doc for i in cls.ids), f"{cls.__module__} must declare its ids at its top"
        assert re.search(r"T0?\d{3,4}", doc), f"{cls.__module__} must name its ATT&CK techniques"


def test_options_are_validated_once_with_one_clear_error() -> None:
    assert default_detectors({"detect.scan": {"min_hosts": 3}})[0].options.min_hosts == 3
    with pytest.raises(ConfigError, match="unknown option 'min_hostz'"):
        default_detectors({"detect.scan": {"min_hostz": 3}})
    with pytest.raises(ConfigError, match="expected int"):
        default_detectors({"detect.scan": {"min_hosts": "three"}})
    with pytest.raises(ConfigError, match="expected a finite number"):  # YAML's .nan and .inf
        default_detectors({"detect.anomaly": {"threshold": float("nan")}})
    with pytest.raises(ConfigError, match=r"^detect\.scan\.window_s: expected 0\.001 to 315,360,000, got 0$"):
        default_detectors({"detect.scan": {"window_s": 0}})


NUMERIC = [(cls, f.name) for cls in detector_classes() for f in fields(cls.defaults)
           if type(getattr(cls.defaults, f.name)) in (int, float)]


@pytest.mark.parametrize(("cls", "name"), NUMERIC, ids=[f"{c.name}.{n}" for c, n in NUMERIC])
def test_every_numeric_option_declares_a_range_its_default_is_in_and_values_past_it_are_refused_by_name(
        cls: type[Detector], name: str) -> None:
    bounds = type(cls.defaults).bounds
    assert name in bounds, f"{cls.name}.{name}: declare its range in {type(cls.defaults).__qualname__}.bounds"
    low, high = bounds[name]
    default = getattr(cls.defaults, name)
    assert low <= default <= high
    below = low - 1 if isinstance(default, int) else low - 0.5 * max(abs(low), 1.0)
    above = high + 1 if isinstance(default, int) else high * 2
    for bad in (below, above, *((0, -1) if low > 0 else (-1,) if low == 0 else ())):
        with pytest.raises(ConfigError, match=rf"^{re.escape(cls.name)}\.{name}: expected .* to .*, got "):
            cls({name: type(default)(bad)})
    for good in (low, high):
        if name not in {"n_trees", "height", "window_size"}:  # detect.anomaly also bounds their product
            assert getattr(cls.defaults.updated({name: type(default)(good)}), name) == good


def test_every_declared_range_names_an_option() -> None:
    for cls in detector_classes():
        assert set(type(cls.defaults).bounds) <= {f.name for f in fields(cls.defaults)}, cls.name


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PROTOS), st.sampled_from(KINDS),
                          st.dictionaries(st.sampled_from(FIELD_NAMES), json_value, max_size=6),
                          st.floats(0, 1e6), st.sampled_from([None, "10.0.0.1", "fe80::1", "bogus", ""])),
                max_size=12))
def test_hostile_observation_fields_never_crash_a_detector(items: list[tuple]) -> None:
    obs = [Observation(ts=ts, proto=p, kind=k, src_ip=ip, dst_ip="10.0.0.2", src_mac="02:00:00:00:00:01", fields=f)
           for p, k, f, ts, ip in items]
    feed(default_detectors(), observations=obs)  # feed() asserts no analyzer error was counted


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 1, 6, 17, 58, 132]), st.integers(0, 65535), st.floats(0, 1e7),
                          st.floats(0, 1e4), st.integers(0, 2**40), st.integers(0, 2**40), st.integers(0, 255),
                          st.sampled_from(["10.0.0.1", "203.0.113.9", "::1", "2001:db8::1"])), max_size=30))
def test_odd_flows_never_crash_a_detector(items: list[tuple]) -> None:
    flows = [Flow(0, proto, ip, 1234, "10.0.0.2", port, ts, ts + dur, pkts_ab=n % 1000, pkts_ba=m % 7,
                  bytes_ab=n, bytes_ba=m, payload_ab=n // 2, payload_ba=m // 2, tcp_flags_ab=flags,
                  tcp_flags_ba=flags ^ 0x12, extra={"conn_state": "S0"} if flags & 1 else {})
             for proto, port, ts, dur, n, m, flags, ip in items]
    feed(default_detectors(), flows=flows)


def test_failed_attempts_and_established_flows() -> None:
    from iotwarden.detect.base import established, failed_attempt
    from tests.detect.runner import tcp_flow

    refused = tcp_flow("10.0.0.1", "10.0.0.2", 23, 1.0)
    unanswered = tcp_flow("10.0.0.1", "10.0.0.2", 23, 1.0, flags=(0x02, 0), pkts=(2, 0))
    talked = tcp_flow("10.0.0.1", "10.0.0.2", 23, 1.0, payload=(10, 10), flags=(0x1B, 0x1B), pkts=(4, 4))
    midstream = tcp_flow("10.0.0.1", "10.0.0.2", 23, 1.0, flags=(0x10, 0x10), pkts=(4, 4))
    assert [failed_attempt(f) for f in (refused, unanswered, talked, midstream)] == [True, True, False, False]
    assert [established(f) for f in (refused, talked)] == [False, True]
    zeek = tcp_flow("10.0.0.1", "10.0.0.2", 23, 1.0, flags=(0, 0))
    zeek.extra["conn_state"] = "REJ"
    assert failed_attempt(zeek) and not established(zeek)


@pytest.mark.parametrize(("ip", "internal"), [("10.1.2.3", True), ("192.168.1.9", True), ("172.31.0.1", True),
                                              ("100.64.0.1", True), ("fd00::1", True), ("fe80::1%eth0", True),
                                              ("198.51.100.7", False), ("8.8.8.8", False), ("2001:db8::1", False),
                                              ("not-an-ip", False)])
def test_internal_addresses_exclude_documentation_ranges(ip: str, internal: bool) -> None:
    from iotwarden.detect.base import is_internal

    assert is_internal(ip) is internal


def test_subject_keys_follow_the_inventory() -> None:
    from iotwarden.detect.base import subject_key
    from iotwarden.hooks import Context
    from iotwarden.model import Device

    ctx = Context()
    ctx.devices["mac:02:00:00:00:00:01"] = Device("mac:02:00:00:00:00:01", 0, 0, mac="02:00:00:00:00:01",
                                                  ips={"10.0.0.1"})
    assert subject_key(ctx, "02:00:00:00:00:01", "10.0.0.1") == "mac:02:00:00:00:00:01"
    assert subject_key(ctx, "f4:bd:9e:01:00:01", "203.0.113.9") == "ip:203.0.113.9"  # behind the router
    assert subject_key(ctx, None, "10.0.0.5") == "ip:10.0.0.5"


def test_a_routed_client_is_named_not_its_gateway() -> None:
    # a server on another subnet answers the client: the answer's destination MAC is the router's
    from iotwarden.detect.base import subject_key
    from iotwarden.hooks import Context
    from iotwarden.model import Device

    ctx = Context()
    router, plug = "f4:bd:9e:01:00:01", "24:6f:28:90:55:01"
    ctx.devices[f"mac:{router}"] = Device(f"mac:{router}", 0, 0, mac=router, ips={"10.10.10.1", "10.10.20.1"})
    assert subject_key(ctx, router, "10.10.20.111") == f"mac:{router}"  # nothing holds it yet
    ctx.devices[f"mac:{plug}"] = Device(f"mac:{plug}", 0, 0, mac=plug, ips={"10.10.20.111"})
    assert subject_key(ctx, router, "10.10.20.111") == f"mac:{plug}"  # learned once the inventory grew
    assert subject_key(ctx, router, "10.10.20.1") == f"mac:{router}"  # its own address
    ctx.devices[f"mac:{plug}"].ips = {"10.10.20.112"}  # the plug moved: the memory is checked on use
    assert subject_key(ctx, router, "10.10.20.111") == f"mac:{router}"


def test_a_subject_is_named_within_its_broadcast_domain_as_the_inventory_keys_it() -> None:
    """Two VLANs' routed 10.0.0.5 are the inventory's ip:10.0.0.5%vlan10 and %vlan20: each named from its own
    domain, and the router carrying VLAN 20's is not given VLAN 10's device (its key's zone says whose address
    it holds). A MAC is one device on every VLAN; untagged, the plain key as before."""
    from iotwarden.detect.base import initiator, responder, subject_key
    from iotwarden.model import Device

    ctx = Context()
    router, cam = "f4:bd:9e:01:00:01", "24:6f:28:90:55:01"
    ctx.devices[f"mac:{router}"] = Device(f"mac:{router}", 0, 0, mac=router, ips={"10.0.0.1"})
    ctx.devices["ip:10.0.0.5%vlan10"] = Device("ip:10.0.0.5%vlan10", 0, 0, ips={"10.0.0.5"})
    assert subject_key(ctx, router, "10.0.0.5", "vlan10") == "ip:10.0.0.5%vlan10"
    assert subject_key(ctx, None, "10.0.0.5", "vlan10") == "ip:10.0.0.5%vlan10"
    assert subject_key(ctx, router, "10.0.0.5", "vlan20") == f"mac:{router}"  # VLAN 20's host is no device yet
    assert subject_key(ctx, None, "10.0.0.5", "vlan20") == "ip:10.0.0.5%vlan20"  # as the inventory will key it
    assert subject_key(ctx, router, "10.0.0.5") == f"mac:{router}"  # untagged: not VLAN 10's device either
    ctx.devices["ip:10.0.0.5%vlan20"] = Device("ip:10.0.0.5%vlan20", 0, 0, ips={"10.0.0.5"})
    assert subject_key(ctx, router, "10.0.0.5", "vlan20") == "ip:10.0.0.5%vlan20"
    assert subject_key(ctx, None, "8.8.8.8", "vlan20") == "ip:8.8.8.8"  # outside the site: one host everywhere
    ctx.devices[f"mac:{cam}"] = Device(f"mac:{cam}", 0, 0, mac=cam, ips={"10.0.0.9"})
    assert subject_key(ctx, cam, "10.0.0.9", "vlan20") == f"mac:{cam}"
    assert subject_key(ctx, router, "10.0.0.9", "vlan20") == f"mac:{cam}"  # a MAC device's domain is not told
    assert set(ctx.ip_holders) == {"10.0.0.5%vlan20", "10.0.0.5", "10.0.0.9%vlan20"}
    flow = Flow(20, 6, "10.0.0.5", 40000, "10.0.0.9", 80, 1.0, 1.0, a_mac=router, b_mac=cam)
    assert (initiator(ctx, flow), responder(ctx, flow)) == ("ip:10.0.0.5%vlan20", f"mac:{cam}")
    flow.vlan = 0
    assert initiator(ctx, flow) == f"mac:{router}"


def _flow_mix(n: int, seed: int) -> list[Flow]:
    """Flows of every kind a detector tells apart: a scan's empty probes, sessions with payload one or
    both ways, answered and unanswered UDP, TFTP, login and admin ports, inside and outside addresses."""
    rng = random.Random(seed)
    inside, outside = ["192.168.1.10", "192.168.1.11", "10.0.0.5"], ["8.8.8.8", "185.244.25.235", "52.3.18.12"]
    ports = [22, 23, 53, 69, 80, 123, 443, 445, 502, 1883, 2323, 3389, 5938, 8080, 37215, 40000]
    out = []
    for i in range(n):
        ts = 1000.0 + i * rng.choice((0.5, 3.0, 10.0, 60.0))
        proto = rng.choice((6, 6, 6, 17, 17, 1))
        b = rng.choice(inside + outside + [f"{rng.randrange(1, 224)}.{rng.randrange(256)}.0.{rng.randrange(1, 255)}"])
        payload = (rng.choice((0, 0, 2, 40, 900, 60_000_000)), rng.choice((0, 0, 3, 500, 4000)))
        extra = {"conn_state": rng.choice(("S0", "SF", "REJ", "S1"))} if rng.random() < 0.5 else {}
        last = ts + rng.choice((0.0, 0.5, 400.0, 7200.0))
        a = rng.choice([*inside, outside[0]])
        out.append(Flow(vlan=0, ip_proto=proto, a_ip=a, a_port=rng.randrange(1024, 65535),
                        b_ip=b, b_port=rng.choice(ports), first_seen=ts, last_seen=last,
                        pkts_ab=rng.randrange(1, 9), pkts_ba=rng.choice((0, 0, 1, 7)), bytes_ab=payload[0] + 60,
                        bytes_ba=payload[1], payload_ab=payload[0], payload_ba=payload[1],
                        tcp_flags_ab=rng.choice((0, 0x02, 0x12, 0x1B)) if proto == 6 else 0,
                        tcp_flags_ba=rng.choice((0, 0x12, 0x14, 0x1B)) if proto == 6 else 0,
                        app=rng.choice((None, None, "tls", "http", "telnet")), extra=extra))
    return out


def _state(value: object) -> object:
    """A detector's state as plain, ordered values (dict and LRU order included) to compare two runs."""
    if isinstance(value, dict):
        return [(_state(k), _state(v)) for k, v in value.items()]
    if isinstance(value, list | tuple | deque):
        return [_state(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(repr(_state(v)) for v in value)
    if isinstance(value, Flow | Options | int | float | str | bytes | type(None)):
        return value
    slots = [s for cls in type(value).__mro__ for s in getattr(cls, "__slots__", ())]
    names = sorted(set(getattr(value, "__dict__", {})) | set(slots))
    return (type(value).__name__, [(n, _state(getattr(value, n))) for n in names if hasattr(value, n)])


@pytest.mark.parametrize("cls", [c for c in detector_classes() if c.flow is not Detector.flow], ids=lambda c: c.name)
def test_a_detectors_flows_hook_does_what_flow_on_each_flow_does(cls: type[Detector]) -> None:
    """Detectors pass over, in ``flows``, the flows their ``flow`` would return from at once (a scan's
    probes): the alerts raised and every piece of state kept are those of calling ``flow`` on each."""
    flows = _flow_mix(3000, seed=13)
    fast, plain = cls(), cls()
    ctx_fast, ctx_plain = Context(), Context()
    for start in range(0, len(flows), 500):  # batches, as the engine closes them
        batch = flows[start : start + 500]
        fast.flows(ctx_fast, batch)
        Detector.flows(plain, ctx_plain, batch)
    assert ctx_fast.alerts == ctx_plain.alerts
    assert _state(fast) == _state(plain)


def test_a_detector_of_observations_only_holds_no_flows() -> None:
    only_observations = [c() for c in detector_classes() if c.flow is Detector.flow and c.flows is Detector.flows]
    assert only_observations, "the registry lists detectors without a flow hook"
    for det in only_observations:
        det.on_flows(Context(), _flow_mix(50, seed=3))
        assert det._pending == []


class _Recorder(Detector):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[list[Flow]] = []

    def flows(self, ctx: Context, flows: list[Flow]) -> None:
        self.seen.append(flows)


def test_detectors_handed_one_batch_get_it_in_time_order_sorted_once() -> None:
    batch = _flow_mix(400, seed=5)
    random.Random(2).shuffle(batch)
    expected = sorted(batch, key=lambda f: f.first_seen)  # stable: equal starts keep the batch's order
    first, second, joined = _Recorder(), _Recorder(), _Recorder()
    ctx = Context()
    for det in (first, second, joined):
        det.on_flows(ctx, batch)
    extra = _flow_mix(3, seed=9)
    joined.on_flows(ctx, extra)  # more than the one batch: this detector sorts what it holds itself
    for det in (first, second, joined):
        det.on_tick(ctx, 0.0)
    assert first.seen == [expected] and second.seen[0] is first.seen[0]
    assert joined.seen == [sorted(batch + extra, key=lambda f: f.first_seen)]
    assert batch != expected  # the caller's list is left as it was


def test_a_site_host_is_keyed_within_its_domain_and_a_remote_one_is_not() -> None:
    assert site_host("10.0.0.5", "vlan10") == "10.0.0.5%vlan10"
    assert site_host("10.0.0.5", "vni4001/vlan10") == "10.0.0.5%vni4001/vlan10"
    assert site_host("10.0.0.5", "") == "10.0.0.5"  # untagged: the address itself
    assert site_host("203.0.113.7", "vlan10") == "203.0.113.7"  # outside the site: one host everywhere
    flow = Flow(10, 6, "10.0.0.5", 40000, "10.0.0.9", 80, 1.0, 1.0)
    assert flow_domain(flow) == "vlan10"
    flow.extra["vni"] = [4001, 7]
    assert flow_domain(flow) == "vni4001/vni7/vlan10"
    assert flow_domain(Flow(0, 6, "10.0.0.5", 1, "10.0.0.9", 2, 1.0, 1.0, extra={"vni": [4001]})) == "vni4001"
    assert flow_domain(Flow(0, 6, "10.0.0.5", 1, "10.0.0.9", 2, 1.0, 1.0, extra={"vni": "junk"})) == ""
    assert flow_domain(Flow(0, 6, "10.0.0.5", 1, "10.0.0.9", 2, 1.0, 1.0)) == ""
