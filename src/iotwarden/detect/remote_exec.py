"""Remote execution and DCSync over DCE/RPC, from the calls dissect/dcerpc.py (or Zeek's dce_rpc.log, through
sources/zeek_dcerpc.py) names by interface and operation.

Ids:

* ``detect.lateral.remote_exec``: a client asks another host to run something. svcctl ``CreateServiceW``/``A``
  or ``StartServiceW``/``A`` ([MS-SCMR] §3.1.4: PsExec, impacket psexec and smbexec install and start a service;
  ATT&CK T1569.002 Service Execution, over T1021.002 SMB/Windows Admin Shares), atsvc ``NetrJobAdd`` or
  ITaskSchedulerService ``SchRpcRegisterTask``/``SchRpcRun`` ([MS-TSCH] §3.2.5: atexec; T1053.005 Scheduled
  Task), IWbemServices ``ExecMethod``/``ExecMethodAsync`` ([MS-WMI] §3.1.4.3: wmiexec's Win32_Process.Create;
  T1047). From any host: severity ``critical`` from an IoT/OT/building/medical device, ``high`` from a host the
  classifier has not placed, ``medium`` from an IT host (administrators do this, attackers too). One alert per
  source, target and technique within ``realert_s``, source and target each a host within its broadcast domain
  (detect/base.site_host: two VLANs' or VPCs' 10.0.0.5 are two sources).
* ``detect.lateral.dcsync``: ``DRSGetNCChanges`` ([MS-DRSR] §4.1.10, opnum 3) asked by a host not known as a
  domain controller: a DC replicating is normal, anyone else pulling the directory's secrets is DCSync
  (mimikatz lsadump::dcsync, impacket secretsdump; T1003.006). A host is known as a DC when the classifier
  typed it ``domain_controller`` or it was seen accepting a DRSUAPI bind (remembered, :data:`MAX_DCS`, by address
  within its broadcast domain: VLAN 10's DC does not vouch for VLAN 20's host at its address). Replication
  partners pull from each other, so a request from a host not (yet) known waits ``wait_s`` of capture time for
  that proof (at most :data:`MAX_WAITING` requests), then raises the alert (``critical``). The wait is cut when
  the classifier has already ruled a DC out: the device holding the source address is an IoT/OT/building/medical
  device or a phone or tablet (:data:`NEVER_DC_TYPES`), which never holds a replica of the directory (only a DC
  serves DRSUAPI, [MS-DRSR] §4.1); such a request is judged at once, or at the first tick after the classifier so
  places a waiting one. A host typed ``server``, a workstation or laptop, or not typed, and a source behind a router
  (its MAC the router's), still wait: a DC is typed ``workstation`` by nothing more than an administrator's desktop
  browser's User-Agent sent from it when the sensor does not see it serve Kerberos or LDAP.

* ``detect.lateral.admin_share_exec``: a client writes an executable (:data:`EXECUTABLE_SUFFIXES`, by name) to
  ADMIN$ or under C$\\Windows (dissect/smb2files.py ``file_write``): how PsExec, impacket psexec and Metasploit's
  psexec stage the service binary they then start through svcctl (ATT&CK T1570 Lateral Tool Transfer, T1021.002).
  Severity and re-alerting as ``remote_exec``, keyed by the file's name. A binary written on a tree whose
  TREE_CONNECT the capture missed is placed on its share by the binary path of the service the session then creates
  (dissect/smbstage.py), and the alert's evidence says ``share_inferred``.

A call on an SMB named pipe whose bind the capture missed is read with the interface its pipe implies
(dissect/dcerpc.py ``interface_inferred``, said in the alert's evidence); over TCP such a call names nothing. A call on
a pipe whose TREE_CONNECT or CREATE the capture missed, taken for one from what its handle carried (dissect/smbpipes.py
``adopt``: a bind of a known interface, or a call its CREATE's name implies), says ``pipe_inferred`` in the evidence.

Endpoint-mapper lookups, binds alone and every other operation raise nothing; nor does any other file written to an
administrative share (a backup, a log) or a file of a user's share.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import (
    DURATION,
    ENTRIES,
    IOT_CATEGORIES,
    IT_CATEGORIES,
    Detector,
    Options,
    Range,
    category,
    site_host,
    subject_key,
    text,
)
from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.model.finding import Severity

REMOTE_EXEC, DCSYNC = "detect.lateral.remote_exec", "detect.lateral.dcsync"
STAGING = "detect.lateral.admin_share_exec"
DC_TYPE = "domain_controller"  # kb taxonomy; rules/dcerpc.yaml types a host accepting DRSUAPI so
# kb taxonomy types that never run Active Directory Domain Services: phones and tablets (a workstation type may rest on
# a browser's User-Agent, which a DC sends when someone browses on it)
NEVER_DC_TYPES = frozenset({"mobile_phone", "tablet"})
DRSUAPI = "drsuapi"
# (interface, operation) in lower case (Zeek and the dissector share the names) -> technique, ATT&CK ids
TECHNIQUES: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    **{("svcctl", op): ("service", ("T1569.002", "T1021.002"))
       for op in ("createservicew", "createservicea", "startservicew", "startservicea")},
    ("atsvc", "netrjobadd"): ("scheduled_task", ("T1053.005",)),
    ("itaskschedulerservice", "schrpcregistertask"): ("scheduled_task", ("T1053.005",)),
    ("itaskschedulerservice", "schrpcrun"): ("scheduled_task", ("T1053.005",)),
    ("iwbemservices", "execmethod"): ("wmi", ("T1047",)),
    ("iwbemservices", "execmethodasync"): ("wmi", ("T1047",)),
}
GET_NC_CHANGES = "drsgetncchanges"
MAX_DCS = 4096  # addresses seen accepting DRSUAPI binds
# DRSGetNCChanges requests waiting for their source to prove itself a DC; past it the oldest are judged
MAX_WAITING = 10_000
# file names a service or script runs from: a binary, a library, a batch, PowerShell or VBScript script
EXECUTABLE_SUFFIXES = (".exe", ".dll", ".bat", ".cmd", ".ps1", ".vbs")
WINDOWS_DIR = "windows\\"  # ADMIN$ is %SystemRoot%; on C$ the same folder by its path ([MS-SRVS] §2.2.2.4)


@dataclass(frozen=True)
class RemoteExecOptions(Options):
    realert_s: float = 1800.0  # one alert per source, target and technique within this long (under the pipeline's hour)
    wait_s: float = 900.0  # capture seconds a replication request waits for its source to show itself a DC
    max_pairs: int = 10_000  # (source, target, technique) alerts remembered
    bounds: ClassVar[dict[str, Range]] = {"realert_s": DURATION, "wait_s": DURATION, "max_pairs": ENTRIES}


def _name(value: object) -> str:
    found = text(value)
    return found.lower() if found else ""


class RemoteExecDetector(Detector):
    observes = frozenset({"dcerpc", "smb"})  # the manager calls on_observation only for these (hooks.py)
    name: ClassVar[str] = "detect.remote_exec"
    ids: ClassVar[tuple[str, ...]] = (REMOTE_EXEC, DCSYNC, STAGING)
    defaults: ClassVar[Options] = RemoteExecOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self._dcs: OrderedDict[str, None] = OrderedDict()
        self._waiting: deque[Observation] = deque()
        self._alerted: OrderedDict[tuple[str, str, str], float] = OrderedDict()

    def on_observation(self, ctx: Context, obs: Observation) -> None:
        if obs.proto == "smb":
            if obs.kind == "file_write" and _staged(obs):
                self._staging(ctx, obs)
            return
        if obs.proto != "dcerpc":
            return
        self._release(ctx, obs.ts)  # requests whose wait is over are judged before this one is read
        if obs.kind in ("bind_ack", "alter_context_resp"):
            accepted = obs.fields.get("accepted_interfaces")
            if isinstance(accepted, list) and DRSUAPI in accepted and obs.src_ip:
                dc = site_host(obs.src_ip, obs.domain)  # another VLAN's or VPC's 10.0.0.5 is not this DC
                self._dcs[dc] = None
                self._dcs.move_to_end(dc)
                if len(self._dcs) > MAX_DCS:
                    self._dcs.popitem(last=False)
            return
        if obs.kind != "request":
            return
        interface, operation = _name(obs.fields.get("interface")), _name(obs.fields.get("operation"))
        technique = TECHNIQUES.get((interface, operation))
        if technique is not None:
            self._remote_exec(ctx, obs, technique)
        elif interface == DRSUAPI and operation == GET_NC_CHANGES and not self._is_dc(ctx, obs):
            if _not_a_dc(ctx, obs) is not None:
                self._judge(ctx, obs)
                return
            self._waiting.append(obs)
            if len(self._waiting) > MAX_WAITING:
                self._judge(ctx, self._waiting.popleft())

    def on_tick(self, ctx: Context, ts: float) -> None:
        super().on_tick(ctx, ts)
        self._release(ctx, ts)
        if any(_not_a_dc(ctx, obs) is not None for obs in self._waiting):  # placed by the classifier meanwhile
            waiting, self._waiting = self._waiting, deque()
            for obs in waiting:
                if _not_a_dc(ctx, obs) is not None:
                    self._judge(ctx, obs)
                else:
                    self._waiting.append(obs)

    def _release(self, ctx: Context, now: float) -> None:
        while self._waiting and self._waiting[0].ts + self.options.wait_s < now:
            self._judge(ctx, self._waiting.popleft())

    def done(self, ctx: Context) -> None:
        super().done(ctx)
        while self._waiting:
            self._judge(ctx, self._waiting.popleft())

    def _is_dc(self, ctx: Context, obs: Observation) -> bool:
        if obs.src_ip and site_host(obs.src_ip, obs.domain) in self._dcs:
            return True
        dev = ctx.devices.get(subject_key(ctx, obs.src_mac, obs.src_ip, obs.domain, obs.ts))
        return dev is not None and (dev.device_type == DC_TYPE
                                    or DRSUAPI in dev.attributes.get("dcerpc.accepted_interfaces", ()))

    def _again(self, obs: Observation, what: str) -> bool:
        """Whether this (source, target, technique) was alerted within ``realert_s``; remembers it if not. Source
        and target are hosts within their broadcast domain (detect/base.site_host): two VLANs' or VPCs' 10.0.0.5
        reaching their own 10.0.0.9 are two pairs, neither hiding the other's alert."""
        domain, ts = obs.domain, obs.ts
        key = (site_host(obs.src_ip or "", domain), site_host(obs.dst_ip or "", domain), what)
        last = self._alerted.get(key)
        if last is not None and ts - last < self.options.realert_s:
            return True
        self._alerted[key] = ts
        self._alerted.move_to_end(key)
        if len(self._alerted) > self.options.max_pairs:
            self._alerted.popitem(last=False)
        return False

    def _staging(self, ctx: Context, obs: Observation) -> None:
        src, dst = obs.src_ip or "", obs.dst_ip or ""
        share, file = text(obs.fields.get("share")) or "", text(obs.fields.get("file")) or ""
        if self._again(obs, "staging:" + file.lower()):
            return
        subject, src_cat, severity, where = _source(ctx, obs)
        evidence: dict[str, object] = {"share": share, "file": file, "created": obs.fields.get("created"),
                                       "category": src_cat}
        if obs.fields.get("share_inferred"):  # its TREE_CONNECT not captured: the service's path named the file
            evidence["share_inferred"] = True  # (dissect/smbstage.py)
        self.raise_alert(ctx, STAGING, title=f"Executable {file} written to {share} of {dst} from {where} {src}",
                         severity=severity, subject=subject, ts=obs.ts, key=f"{dst}:{file.lower()}",
                         mitre=("T1570", "T1021.002"), src_ip=obs.src_ip, dst_ip=obs.dst_ip,
                         evidence=evidence, observations=[obs])

    def _remote_exec(self, ctx: Context, obs: Observation, technique: tuple[str, tuple[str, ...]]) -> None:
        kind, mitre = technique
        src, dst = obs.src_ip or "", obs.dst_ip or ""
        if self._again(obs, kind):
            return
        subject, src_cat, severity, where = _source(ctx, obs)
        operation = text(obs.fields.get("operation"))
        evidence: dict[str, object] = {"technique": kind, "interface": text(obs.fields.get("interface")),
                                       "operation": operation, "category": src_cat}
        if obs.fields.get("interface_inferred"):  # named after its SMB pipe, its bind not captured (dissect/dcerpc.py)
            evidence["interface_inferred"] = True
        if obs.fields.get("pipe_inferred"):  # a pipe whose CREATE was not captured (dissect/smbpipes.py adopt)
            evidence["pipe_inferred"] = True
        self.raise_alert(ctx, REMOTE_EXEC, title=f"Remote execution ({kind.replace('_', ' ')}, {operation}) from "
                         f"{where} {src} on {dst}", severity=severity, subject=subject, ts=obs.ts,
                         key=f"{dst}:{kind}", mitre=mitre, src_ip=obs.src_ip, dst_ip=obs.dst_ip,
                         evidence=evidence, observations=[obs])

    def _judge(self, ctx: Context, obs: Observation) -> None:
        """A DRSGetNCChanges whose wait is over: DCSync unless its source showed itself a DC meanwhile."""
        if self._is_dc(ctx, obs):
            return
        src, dst = obs.src_ip or "", obs.dst_ip or ""
        if self._again(obs, "dcsync"):
            return
        subject = subject_key(ctx, obs.src_mac, obs.src_ip, obs.domain, obs.ts)
        placed = _not_a_dc(ctx, obs)
        self.raise_alert(ctx, DCSYNC, title=f"DCSync: {src}, not a domain controller, replicated the directory "
                         f"from {dst}", severity="critical", subject=subject, ts=obs.ts, key=dst,
                         mitre=("T1003.006",), src_ip=obs.src_ip, dst_ip=obs.dst_ip,
                         evidence={"operation": text(obs.fields.get("operation")),
                                   "category": category(ctx, subject),
                                   "basis": placed or f"not shown a DC within {self.options.wait_s:g} s"},
                         observations=[obs])


def _not_a_dc(ctx: Context, obs: Observation) -> str | None:
    """Why the source of ``obs`` cannot be a domain controller, from the device holding its address (module
    docstring), or None when nothing rules it out."""
    dev = ctx.devices.get(subject_key(ctx, obs.src_mac, obs.src_ip, obs.domain, obs.ts))
    if dev is None or obs.src_ip not in dev.ips:  # unknown, or a router's MAC carrying another subnet's host
        return None
    placed = (dev.category or "").lower()
    if placed in IOT_CATEGORIES:
        return f"source classified {placed}, never a domain controller"
    if dev.device_type in NEVER_DC_TYPES:
        return f"source typed {dev.device_type}, never a domain controller"
    return None


def _staged(obs: Observation) -> bool:
    """A file written where a service binary is staged: an executable's name on ADMIN$ or under C$\\Windows."""
    file = _name(obs.fields.get("file")).replace("/", "\\").lstrip("\\")
    share = _name(obs.fields.get("share"))
    return file.endswith(EXECUTABLE_SUFFIXES) and (share == "admin$"
                                                   or (share == "c$" and file.startswith(WINDOWS_DIR)))


def _source(ctx: Context, obs: Observation) -> tuple[str, str | None, Severity, str]:
    """The source's device key and category, the severity it earns (critical from IoT/OT, high from a host not
    placed, medium from IT) and how a title names it."""
    subject = subject_key(ctx, obs.src_mac, obs.src_ip, obs.domain, obs.ts)
    src_cat = category(ctx, subject)
    severity: Severity = "critical" if src_cat in IOT_CATEGORIES else "medium" if src_cat in IT_CATEGORIES else "high"
    where = "IoT/OT device" if src_cat in IOT_CATEGORIES else "IT host" if src_cat in IT_CATEGORIES else "host"
    return subject, src_cat, severity, where
