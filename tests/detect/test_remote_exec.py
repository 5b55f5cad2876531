"""Remote execution (service, task, WMI) and DCSync over DCE/RPC: from the dissector's observations, with the
source's category setting the severity, and end to end from a capture of hand-built PDUs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iotwarden.addons import AddonManager
from iotwarden.detect.pipeline import AlertPipeline
from iotwarden.detect.remote_exec import DCSYNC, MAX_DCS, MAX_WAITING, REMOTE_EXEC, RemoteExecDetector
from iotwarden.hooks import Context
from iotwarden.model import Device, Observation
from iotwarden.model.alert import Alert
from iotwarden.model.device import Conclusion
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

CAMERA, WORKSTATION, DC1, DC2, SERVER = "10.2.0.30", "10.2.0.50", "10.2.0.10", "10.2.0.11", "10.2.0.20"


def _obs(ts: float, src: str, dst: str, kind: str, **fields: Any) -> Observation:
    return Observation(ts=ts, proto="dcerpc", kind=kind, src_ip=src, dst_ip=dst, src_mac=mac_of(src),
                       dst_mac=mac_of(dst), src_port=50000, dst_port=49667, fields=fields)


def _call(ts: float, src: str, dst: str, interface: str, operation: str) -> Observation:
    return _obs(ts, src, dst, "request", interface=interface, operation=operation, opnum=0)


def _run(observations: list[Observation], categories: dict[str, str] | None = None,
         types: dict[str, str] | None = None, **options: Any) -> list[Alert]:
    ctx = Context()
    for ip, value in (categories or {}).items():
        dev = ctx.devices.setdefault(f"mac:{mac_of(ip)}", Device(key=f"mac:{mac_of(ip)}", first_seen=0.0,
                                                                  last_seen=0.0, mac=mac_of(ip), ips={ip}))
        dev.classification["category"] = Conclusion(value, 0.9)
    for ip, value in (types or {}).items():
        dev = ctx.devices.setdefault(f"mac:{mac_of(ip)}", Device(key=f"mac:{mac_of(ip)}", first_seen=0.0,
                                                                  last_seen=0.0, mac=mac_of(ip), ips={ip}))
        dev.classification["device_type"] = Conclusion(value, 0.9)
    addons = AddonManager(ctx, [RemoteExecDetector(options or None), AlertPipeline()])
    addons.observations(observations)
    addons.tick(max(o.ts for o in observations))
    addons.done()
    assert not ctx.stats.analyzer_errors, ctx.stats.analyzer_errors
    return list(ctx.alerts)


@pytest.mark.parametrize(("category", "severity"), [("iot", "critical"), ("ot", "critical"), (None, "high"),
                                                    ("it", "medium")])
def test_service_creation_is_remote_execution_rated_by_its_source(category: str | None, severity: str) -> None:
    alerts = _run([_call(10.0, CAMERA, SERVER, "svcctl", "CreateServiceW"),
                   _call(10.1, CAMERA, SERVER, "svcctl", "StartServiceW")],
                  {CAMERA: category} if category else None)
    assert [(a.id, a.severity, a.src_ip, a.dst_ip) for a in alerts] == [(REMOTE_EXEC, severity, CAMERA, SERVER)]
    assert alerts[0].mitre == ["T1569.002", "T1021.002"]
    assert alerts[0].subject == f"mac:{mac_of(CAMERA)}"


@pytest.mark.parametrize(("interface", "operation", "technique"), [
    ("atsvc", "NetrJobAdd", "T1053.005"), ("ITaskSchedulerService", "SchRpcRegisterTask", "T1053.005"),
    ("IWbemServices", "ExecMethod", "T1047"), ("svcctl", "CreateServiceA", "T1569.002")])
def test_tasks_and_wmi_methods_are_remote_execution_too(interface: str, operation: str, technique: str) -> None:
    alerts = _run([_call(10.0, WORKSTATION, SERVER, interface, operation)])
    assert [a.id for a in alerts] == [REMOTE_EXEC] and technique in alerts[0].mitre


def test_lookups_and_other_operations_raise_nothing() -> None:
    obs = [_obs(10.0, WORKSTATION, SERVER, "bind", requested_interfaces=["epmapper"]),
           _call(10.1, WORKSTATION, SERVER, "epmapper", "ept_map"),
           _call(10.2, WORKSTATION, SERVER, "svcctl", "OpenSCManagerW"),
           _call(10.3, WORKSTATION, SERVER, "winreg", "BaseRegOpenKey"),
           _obs(10.4, WORKSTATION, SERVER, "request", interface=None, operation=None, opnum=12)]
    assert _run(obs) == []


def test_dcsync_from_a_workstation() -> None:
    alerts = _run([_obs(10.0, DC1, WORKSTATION, "bind_ack", accepted_interfaces=["drsuapi"]),
                   _call(11.0, WORKSTATION, DC1, "drsuapi", "DRSGetNCChanges")])
    assert [(a.id, a.severity, a.src_ip, a.dst_ip, a.mitre) for a in alerts] == [
        (DCSYNC, "critical", WORKSTATION, DC1, ["T1003.006"])]


def test_dc_to_dc_replication_is_no_dcsync_whichever_partner_pulls_first() -> None:
    # DC2 pulls from DC1 before anything showed DC2 serving DRSUAPI; DC1 then pulls from DC2, answered
    obs = [_obs(10.0, DC1, DC2, "bind_ack", accepted_interfaces=["drsuapi"]),
           _call(10.1, DC2, DC1, "drsuapi", "DRSGetNCChanges"),
           _obs(300.0, DC2, DC1, "bind_ack", accepted_interfaces=["drsuapi"]),
           _call(300.1, DC1, DC2, "drsuapi", "DRSGetNCChanges")]
    assert _run(obs) == []
    # a host the classifier typed a DC needs no such proof
    assert _run([_call(10.0, DC2, DC1, "drsuapi", "DRSGetNCChanges")], types={DC2: "domain_controller"}) == []


def test_a_request_waits_at_most_wait_s_for_its_source_to_show_itself_a_dc() -> None:
    obs = [_call(10.0, WORKSTATION, DC1, "drsuapi", "DRSGetNCChanges"),
           _obs(2000.0, WORKSTATION, DC1, "bind_ack", accepted_interfaces=["drsuapi"])]
    late = _run(obs, wait_s=900.0)
    assert [a.id for a in late] == [DCSYNC]  # judged at the tick past its wait, before the late proof


def _placed(ctx: Context, ip: str, *, category: str | None = None, device_type: str | None = None,
            mac: str | None = None) -> None:
    """The classifier's word on the device holding ``ip`` (its MAC ``mac``, by default the test address's)."""
    key = f"mac:{mac or mac_of(ip)}"
    dev = ctx.devices.setdefault(key, Device(key=key, first_seen=0.0, last_seen=0.0, mac=mac or mac_of(ip), ips={ip}))
    for name, value in (("category", category), ("device_type", device_type)):
        if value is not None:
            dev.classification[name] = Conclusion(value, 0.9)


@pytest.mark.parametrize(("source", "placed", "basis"), [
    (CAMERA, {"category": "iot"}, "source classified iot"),
    (WORKSTATION, {"device_type": "tablet", "category": "it"}, "source typed tablet")])
def test_dcsync_from_a_host_the_classifier_rules_out_as_a_dc_is_raised_at_once(source: str, placed: dict[str, str],
                                                                             basis: str) -> None:
    det, ctx = RemoteExecDetector(), Context()
    _placed(ctx, source, **placed)
    det.on_observation(ctx, _call(10.0, source, DC1, "drsuapi", "DRSGetNCChanges"))
    (alert,) = ctx.alerts  # no wait_s: nothing a DC could show would change the verdict
    assert (alert.id, alert.src_ip, alert.first_seen) == (DCSYNC, source, 10.0)
    assert alert.evidence["basis"].startswith(basis) and not det._waiting


def test_a_waiting_request_is_judged_once_the_classifier_places_its_source() -> None:
    det, ctx = RemoteExecDetector(), Context()
    det.on_observation(ctx, _call(10.0, WORKSTATION, DC1, "drsuapi", "DRSGetNCChanges"))
    det.on_tick(ctx, 60.0)
    assert ctx.alerts == [] and len(det._waiting) == 1  # not placed yet: waits
    _placed(ctx, WORKSTATION, device_type="mobile_phone")
    det.on_tick(ctx, 70.0)  # the classifier's pass typed it: judged before wait_s
    assert [(a.id, a.src_ip) for a in ctx.alerts] == [(DCSYNC, WORKSTATION)] and not det._waiting


def test_a_dc_typed_workstation_by_a_browser_waits_for_its_proof() -> None:
    """A DC the sensor never sees serve Kerberos or LDAP, typed workstation from the desktop browser an administrator
    used on it: its replication is proven by its partner's DRSUAPI bind within wait_s and raises nothing."""
    det, ctx = RemoteExecDetector(), Context()
    _placed(ctx, DC2, device_type="workstation", category="it")
    det.on_observation(ctx, _call(10.0, DC2, DC1, "drsuapi", "DRSGetNCChanges"))
    det.on_tick(ctx, 100.0)
    assert ctx.alerts == [] and len(det._waiting) == 1
    det.on_observation(ctx, _obs(300.0, DC2, DC1, "bind_ack", accepted_interfaces=["drsuapi"]))
    det.done(ctx)
    assert ctx.alerts == []


def test_dcs_not_yet_typed_or_behind_a_router_still_wait_for_their_proof() -> None:
    """A DC typed only ``server`` so far, and a DC of another site whose requests come with the MAC of the device
    routing its subnet (a building gateway, classified building: its category is not the DC's), replicate silently
    once they accept a DRSUAPI bind within wait_s."""
    router_mac = "02:00:00:00:ff:01"
    remote_dc = "10.9.0.10"
    for source, placed, mac in ((DC2, {"device_type": "server", "category": "it"}, None),
                                (remote_dc, {"device_type": "building_gateway", "category": "building"}, router_mac)):
        det, ctx = RemoteExecDetector(), Context()
        _placed(ctx, "10.2.0.1" if mac else source, mac=mac, **placed)
        pull = _call(10.0, source, DC1, "drsuapi", "DRSGetNCChanges")
        pull.src_mac = mac or pull.src_mac
        det.on_observation(ctx, pull)
        det.on_tick(ctx, 100.0)
        assert ctx.alerts == [] and len(det._waiting) == 1
        proof = _obs(300.0, source, DC1, "bind_ack", accepted_interfaces=["drsuapi"])
        proof.src_mac = mac or proof.src_mac
        det.on_observation(ctx, proof)
        det.done(ctx)
        assert ctx.alerts == [], source


def test_waiting_requests_are_bounded() -> None:
    obs = [_call(10.0 + i * 1e-4, f"10.3.{i // 250}.{i % 250}", DC1, "drsuapi", "DRSGetNCChanges")
           for i in range(MAX_WAITING + 5)]
    det = RemoteExecDetector()
    ctx = Context()
    for o in obs:
        det.on_observation(ctx, o)
    assert len(det._waiting) == MAX_WAITING and len(ctx.alerts) == 5


def test_one_alert_per_source_target_and_technique_within_realert_s() -> None:
    obs = [_call(10.0 + i, CAMERA, SERVER, "svcctl", "CreateServiceW") for i in range(5)]
    obs.append(_call(4000.0, CAMERA, SERVER, "svcctl", "CreateServiceW"))
    det = RemoteExecDetector()
    ctx = Context()
    for o in obs:
        det.on_observation(ctx, o)
    assert len(ctx.alerts) == 2


def test_psexec_and_dcsync_end_to_end_from_packets(tmp_path: Path) -> None:
    """A capture: an admin workstation's EPM lookup, DC1 and DC2 replicating both ways, the workstation pulling
    the directory from DC1 (DCSync) and creating and starting a service on a server (psexec)."""
    path = tmp_path / "rpc.pcap"
    drs = [(True, bind([(0, DRSUAPI, 4)])), (False, bind_ack("49667", [0])), (True, request(0, 0, call_id=2)),
           (False, response(0, call_id=2)), (True, request(0, 3, call_id=3)), (False, response(0, call_id=3))]
    write_sessions(str(path), [
        (WORKSTATION, DC1, 50010, 135, [(True, bind([(0, EPM, 3)])), (False, bind_ack("135", [0])),
                                        (True, request(0, 3)), (False, response(0))]),
        (DC2, DC1, 50011, 49667, drs), (DC1, DC2, 50012, 49667, drs),
        (WORKSTATION, DC1, 50013, 49667, drs),
        (WORKSTATION, SERVER, 50014, 445 + 50000, [
            (True, bind([(0, SVCCTL, 2)])), (False, bind_ack("\\PIPE\\svcctl", [0])),
            (True, request(0, 15, call_id=2)), (False, response(0, call_id=2)),
            (True, request(0, 12, call_id=3)), (False, response(0, call_id=3)),
            (True, request(0, 19, call_id=4)), (False, response(0, call_id=4))]),
    ])
    alerts = [a for a in detect([path]).alerts if a.id in (REMOTE_EXEC, DCSYNC)]
    assert sorted((a.id, a.src_ip, a.dst_ip) for a in alerts) == [(DCSYNC, WORKSTATION, DC1),
                                                                 (REMOTE_EXEC, WORKSTATION, SERVER)]


def _on(vlan: int, mac: str, obs: Observation) -> Observation:
    obs.vlan, obs.src_mac = vlan, mac
    return obs


def test_a_dc_on_one_vlan_does_not_vouch_for_another_vlans_host_at_its_address() -> None:
    """A trunk mirror: VLAN 10's DC1 serves DRSUAPI; VLAN 20's host at the same address pulls the directory."""
    obs = [_on(10, mac_of(DC1), _obs(10.0, DC1, WORKSTATION, "bind_ack", accepted_interfaces=["drsuapi"])),
           _on(20, "02:00:00:00:20:0a", _call(11.0, DC1, DC2, "drsuapi", "DRSGetNCChanges"))]
    assert [(a.id, a.src_ip) for a in _run(obs)] == [(DCSYNC, DC1)]
    obs[1].vlan = 10  # the same request on the DC's own VLAN is replication
    assert _run(obs) == []


def test_remote_execution_on_two_vpcs_sharing_addresses_is_two_pairs() -> None:
    """Two VPCs (VNIs 4001, 4002) each hold 10.2.0.30 and 10.2.0.20: one pair's alert hides not the other's."""
    obs = [_call(10.0 + i, CAMERA, SERVER, "svcctl", "CreateServiceW") for i in range(4)]
    for i, o in enumerate(obs):
        o.vni, o.src_mac = (4001 + i % 2,), f"02:00:00:00:{i % 2:02x}:30"
    det = RemoteExecDetector()
    ctx = Context()
    for o in obs:
        det.on_observation(ctx, o)
    assert [(a.id, a.src_ip) for a in ctx.alerts] == [(REMOTE_EXEC, CAMERA)] * 2
    assert ("10.2.0.30%vni4002", "10.2.0.20%vni4002", "service") in det._alerted


def test_dcs_and_pairs_on_many_vlans_stay_within_their_bounds() -> None:
    det = RemoteExecDetector({"max_pairs": 10})
    ctx = Context()
    for i in range(MAX_DCS + 5):
        det.on_observation(ctx, _on(1 + i % 4094, mac_of(DC1), _obs(10.0, f"10.2.{i // 4094}.10", WORKSTATION,
                                                                     "bind_ack", accepted_interfaces=["drsuapi"])))
    for i in range(30):
        det.on_observation(ctx, _on(1 + i, mac_of(CAMERA), _call(20.0, CAMERA, SERVER, "svcctl", "CreateServiceW")))
    assert len(det._dcs) == MAX_DCS and len(det._alerted) == 10 and len(ctx.alerts) == 30
