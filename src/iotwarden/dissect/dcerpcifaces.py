"""Well-known DCE/RPC interfaces (abstract syntax UUID -> name, spec) and the names of the operations
(opnums) of them that say what a client does to a Windows host, for dissect/dcerpc.py and Zeek's dce_rpc.log; the
interface a well-known named pipe implies (:data:`PIPES`), for a call on a pipe whose bind was not captured.

Names are those Zeek gives in dce_rpc.log (``DCE_RPC::uuid_endpoint_map`` and ``operations`` in
base/protocols/dce-rpc/consts.zeek), so both paths describe a call alike; each interface cites the
standards-assignment section of its specification that lists its UUID ([MS-*] §1.9), each operation the
section whose table lists its opnum. UUIDs cross-checked with Wireshark's dissectors (packet-dcerpc-*.c).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Interface:
    """One RPC interface: its name, major version and where its UUID is assigned."""

    name: str
    version: int
    reference: str


INTERFACES: dict[str, Interface] = {
    "e1af8308-5d1f-11c9-91a4-08002b14a0fa": Interface("epmapper", 3, "[MS-RPCE] §1.9; C706 Appendix O"),
    "367abb81-9844-35f1-ad32-98f038001003": Interface("svcctl", 2, "[MS-SCMR] §1.9"),
    "1ff70682-0a51-30e8-076d-740be8cee98b": Interface("atsvc", 1, "[MS-TSCH] §1.9 (ATSvc)"),
    "378e52b0-c0a9-11cf-822d-00aa0051e40f": Interface("sasec", 1, "[MS-TSCH] §1.9 (SASec)"),
    "86d35949-83c9-4044-b424-db363231fd0c": Interface("ITaskSchedulerService", 1, "[MS-TSCH] §1.9"),
    "e3514235-4b06-11d1-ab04-00c04fc2dcd2": Interface("drsuapi", 4, "[MS-DRSR] §1.9"),
    "12345778-1234-abcd-ef00-0123456789ac": Interface("samr", 1, "[MS-SAMR] §1.9"),
    "12345778-1234-abcd-ef00-0123456789ab": Interface("lsarpc", 0, "[MS-LSAD] §1.9"),
    "12345678-1234-abcd-ef00-01234567cffb": Interface("netlogon", 1, "[MS-NRPC] §1.9"),
    "4b324fc8-1670-01d3-1278-5a47bf6ee188": Interface("srvsvc", 3, "[MS-SRVS] §1.9"),
    "6bffd098-a112-3610-9833-46c3f87e345a": Interface("wkssvc", 1, "[MS-WKST] §1.9"),
    "338cd001-2244-31f1-aaaa-900038001003": Interface("winreg", 1, "[MS-RRP] §1.9"),
    "000001a0-0000-0000-c000-000000000046": Interface("IRemoteSCMActivator", 0, "[MS-DCOM] §1.9 (IRemoteSCMActivator, "
                                                      "ISystemActivator in Wireshark)"),
    "4d9f4ab8-7d1c-11cf-861e-0020af6e7c57": Interface("IActivation", 0, "[MS-DCOM] §1.9"),
    "99fcfec4-5260-101b-bbcb-00aa0021347a": Interface("IObjectExporter", 0, "[MS-DCOM] §1.9 (IOXIDResolver in "
                                                      "Wireshark)"),
    "00000143-0000-0000-c000-000000000046": Interface("IRemUnknown2", 0, "[MS-DCOM] §1.9"),
    "f309ad18-d86a-11d0-a075-00c04fb68820": Interface("IWbemLevel1Login", 0, "[MS-WMI] §1.9"),
    "9556dc99-828c-11cf-a37e-00aa003240c7": Interface("IWbemServices", 0, "[MS-WMI] §1.9"),
    "f6beaff7-1e19-4fbb-9f8f-b89e2018337c": Interface("IEventService", 1, "[MS-EVEN6] §1.9"),
    "82273fdc-e32a-18c3-3f78-827929dc23ea": Interface("eventlog", 0, "[MS-EVEN] §1.9"),
}
BY_NAME: dict[str, str] = {iface.name.lower(): uuid for uuid, iface in INTERFACES.items()}

# (interface name, opnum) -> operation name, for the calls that change or read a remote Windows host's
# security state: service creation and start, scheduled tasks, WMI method calls, directory replication,
# remote registry, account enumeration; each opnum from the interface's message-processing section.
OPERATIONS: dict[tuple[str, int], str] = {
    ("svcctl", 2): "DeleteService",  # [MS-SCMR] §3.1.4, opnum 2
    ("svcctl", 12): "CreateServiceW",  # [MS-SCMR] §3.1.4, opnum 12
    ("svcctl", 15): "OpenSCManagerW",  # [MS-SCMR] §3.1.4, opnum 15
    ("svcctl", 19): "StartServiceW",  # [MS-SCMR] §3.1.4, opnum 19
    ("svcctl", 24): "CreateServiceA",  # [MS-SCMR] §3.1.4, opnum 24
    ("svcctl", 31): "StartServiceA",  # [MS-SCMR] §3.1.4, opnum 31
    ("atsvc", 0): "NetrJobAdd",  # [MS-TSCH] §3.2.5.2, opnum 0
    ("sasec", 0): "SASetAccountInformation",  # [MS-TSCH] §3.2.5.3, opnum 0
    ("ITaskSchedulerService", 1): "SchRpcRegisterTask",  # [MS-TSCH] §3.2.5.4, opnum 1
    ("ITaskSchedulerService", 12): "SchRpcRun",  # [MS-TSCH] §3.2.5.4, opnum 12
    ("drsuapi", 0): "DRSBind",  # [MS-DRSR] §4.1, opnum 0
    ("drsuapi", 2): "DRSReplicaSync",  # [MS-DRSR] §4.1, opnum 2
    ("drsuapi", 3): "DRSGetNCChanges",  # [MS-DRSR] §4.1, opnum 3
    ("drsuapi", 5): "DRSReplicaAdd",  # [MS-DRSR] §4.1, opnum 5
    ("drsuapi", 12): "DRSCrackNames",  # [MS-DRSR] §4.1, opnum 12
    ("samr", 6): "SamrEnumerateDomainsInSamServer",  # [MS-SAMR] §3.1.5, opnum 6
    ("samr", 11): "SamrEnumerateGroupsInDomain",  # [MS-SAMR] §3.1.5, opnum 11
    ("samr", 13): "SamrEnumerateUsersInDomain",  # [MS-SAMR] §3.1.5, opnum 13
    ("samr", 15): "SamrEnumerateAliasesInDomain",  # [MS-SAMR] §3.1.5, opnum 15
    ("netlogon", 30): "NetrServerPasswordSet2",  # [MS-NRPC] §3.5.4, opnum 30
    ("srvsvc", 12): "NetrSessionEnum",  # [MS-SRVS] §3.1.4, opnum 12
    ("srvsvc", 15): "NetrShareEnum",  # [MS-SRVS] §3.1.4, opnum 15
    ("wkssvc", 2): "NetrWkstaUserEnum",  # [MS-WKST] §3.2.4, opnum 2
    ("winreg", 2): "OpenLocalMachine",  # [MS-RRP] §3.1.5, opnum 2
    ("winreg", 6): "BaseRegCreateKey",  # [MS-RRP] §3.1.5, opnum 6
    ("winreg", 15): "BaseRegOpenKey",  # [MS-RRP] §3.1.5, opnum 15
    ("winreg", 20): "BaseRegSaveKey",  # [MS-RRP] §3.1.5, opnum 20
    ("winreg", 22): "BaseRegSetValue",  # [MS-RRP] §3.1.5, opnum 22
    ("IRemoteSCMActivator", 4): "RemoteCreateInstance",  # [MS-DCOM] §3.1.2.5.2.3, opnum 4
    ("IWbemLevel1Login", 6): "NTLMLogin",  # [MS-WMI] §3.1.4.1, opnum 6
    ("IWbemServices", 20): "ExecQuery",  # [MS-WMI] §3.1.4.3, opnum 20
    ("IWbemServices", 24): "ExecMethod",  # [MS-WMI] §3.1.4.3, opnum 24
    ("IWbemServices", 25): "ExecMethodAsync",  # [MS-WMI] §3.1.4.3, opnum 25
    ("IEventService", 6): "EvtRpcClearLog",  # [MS-EVEN6] §3.1.4, opnum 6
    ("eventlog", 0): "ElfrClearELFW",  # [MS-EVEN] §3.1.4, opnum 0
}


# Named pipes (ncacn_np, without their \\PIPE\\ prefix, lower case) -> the interfaces whose specification names the pipe
# as their endpoint (its §2.1 Transport), each with its number of opnums (None: not needed, the pipe's only one). A call
# on such a pipe whose bind the capture missed (it began after the bind, or lost it) is named after the one interface
# whose opnums hold its opnum, marked inferred by dissect/dcerpc.py; two or more that could: not named.
# Not here: lsarpc ([MS-LSAD] §2.1, and [MS-DSSP] §2.1 also on \PIPE\lsarpc), spoolss ([MS-RPRN] §2.1; its interface
# is not in INTERFACES); a pipe's name is not known over TCP, so nothing is inferred there.
PIPES: dict[str, tuple[tuple[str, int | None], ...]] = {
    "svcctl": (("svcctl", None),),  # [MS-SCMR] §2.1: \PIPE\svcctl
    "winreg": (("winreg", None),),  # [MS-RRP] §2.1: \PIPE\winreg
    "samr": (("samr", None),),  # [MS-SAMR] §2.1: \PIPE\samr
    "netlogon": (("netlogon", None),),  # [MS-NRPC] §2.1: \PIPE\netlogon
    "srvsvc": (("srvsvc", None),),  # [MS-SRVS] §2.1: \PIPE\srvsvc
    "wkssvc": (("wkssvc", None),),  # [MS-WKST] §2.1: \PIPE\wkssvc
    # [MS-TSCH] §2.1: ATSvc, SASec and ITaskSchedulerService all on \PIPE\atsvc; their opnums 0-3 (§3.2.5.2),
    # 0-3 (§3.2.5.3) and 0-19 (§3.2.5.4): an opnum from 4 (SchRpcRun is 12) can only be ITaskSchedulerService's
    "atsvc": (("atsvc", 4), ("sasec", 4), ("ITaskSchedulerService", 20)),
}


def pipe_interface(pipe: str | None, opnum: int) -> str | None:
    """The interface a call of ``opnum`` on named pipe ``pipe`` can only be a call of (:data:`PIPES`), else None."""
    if not pipe:
        return None
    name = pipe.lower().replace("/", "\\").rsplit("\\", 1)[-1]  # "svcctl", "\\PIPE\\svcctl" alike
    fits = [iface for iface, count in PIPES.get(name, ()) if count is None or opnum < count]
    return fits[0] if len(fits) == 1 else None


def interface_name(uuid: str) -> str:
    """The interface's name, else its UUID (lower case, as Zeek logs an unknown one)."""
    found = INTERFACES.get(uuid.lower())
    return found.name if found is not None else uuid.lower()


def operation_name(interface: str | None, opnum: int) -> str | None:
    """The name of ``opnum`` of ``interface`` when it is one of :data:`OPERATIONS`, else None."""
    return OPERATIONS.get((interface, opnum)) if interface is not None else None
