"""The interface and operation table: well-formed, cited, and named as Wireshark names them where it knows them."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from iotwarden.dissect.dcerpcifaces import (
    BY_NAME,
    INTERFACES,
    OPERATIONS,
    PIPES,
    interface_name,
    operation_name,
    pipe_interface,
)
from tests.dissect.dcerpc_pdus import bind, bind_ack, request

# Wireshark 4.0's names (tshark's Info column) for the UUIDs and opnums it dissects; the rest it lists by UUID
WIRESHARK_NAMES = {"epmapper": "EPMv4", "svcctl": "SVCCTL", "atsvc": "ATSVC", "ITaskSchedulerService":
                   "TaskSchedulerService", "drsuapi": "DRSUAPI", "samr": "SAMR", "lsarpc": "LSARPC",
                   "netlogon": "RPC_NETLOGON", "srvsvc": "SRVSVC", "wkssvc": "WKSSVC", "winreg": "WINREG",
                   "IRemoteSCMActivator": "ISystemActivator", "IActivation": "REMACT",
                   "IObjectExporter": "IOXIDResolver", "IRemUnknown2": "IRemUnknown2", "eventlog": "EVENTLOG"}
WIRESHARK_OPERATIONS = {"NetrJobAdd": "JobAdd", "DRSBind": "DsBind", "DRSReplicaSync": "DsReplicaSync",
                        "DRSGetNCChanges": "DsGetNCChanges", "DRSReplicaAdd": "DRSUAPI_REPLICA_ADD",
                        "DRSCrackNames": "DsCrackNames", "SamrEnumerateDomainsInSamServer": "EnumDomains",
                        "SamrEnumerateGroupsInDomain": "EnumDomainGroups", "SamrEnumerateUsersInDomain":
                        "EnumDomainUsers", "SamrEnumerateAliasesInDomain": "EnumDomainAliases",
                        "NetrSessionEnum": "NetSessEnum", "NetrShareEnum": "NetShareEnumAll",
                        "NetrWkstaUserEnum": "NetWkstaEnumUsers", "OpenLocalMachine": "OpenHKLM",
                        "BaseRegCreateKey": "CreateKey", "BaseRegOpenKey": "OpenKey", "BaseRegSaveKey": "SaveKey",
                        "BaseRegSetValue": "SetValue", "ElfrClearELFW": "ClearEventLogW"}


def test_every_interface_is_a_lower_case_uuid_with_a_cited_spec() -> None:
    for key, iface in INTERFACES.items():
        assert str(uuid.UUID(key)) == key
        assert re.search(r"\[MS-[A-Z0-9]+\] §\d|C706", iface.reference), iface
    assert len(BY_NAME) == len(INTERFACES)  # names are unique


def test_every_operation_belongs_to_a_listed_interface() -> None:
    assert {name.lower() for name, _ in OPERATIONS} <= set(BY_NAME)
    assert operation_name("svcctl", 12) == "CreateServiceW"
    assert operation_name("drsuapi", 3) == "DRSGetNCChanges"
    assert operation_name(None, 12) is None and operation_name("svcctl", 999) is None


def test_an_unknown_uuid_is_its_own_name() -> None:
    assert interface_name("E3514235-4B06-11D1-AB04-00C04FC2DCD2") == "drsuapi"
    assert interface_name("01234567-89AB-CDEF-0123-456789ABCDEF") == "01234567-89ab-cdef-0123-456789abcdef"


def test_a_well_known_pipe_implies_its_interface_where_one_alone_fits() -> None:
    assert {iface.lower() for ifaces in PIPES.values() for iface, _ in ifaces} <= set(BY_NAME)
    assert pipe_interface("svcctl", 12) == pipe_interface("\\PIPE\\SVCCTL", 12) == "svcctl"
    assert pipe_interface("winreg", 22) == "winreg" and pipe_interface("samr", 13) == "samr"
    # [MS-TSCH] §2.1: three interfaces on \PIPE\atsvc; SchRpcRun (12) is past ATSvc's and SASec's opnums 0-3
    assert pipe_interface("atsvc", 12) == "ITaskSchedulerService"
    assert pipe_interface("atsvc", 0) is None and pipe_interface("atsvc", 1) is None  # NetrJobAdd or SASec's? unsaid
    assert pipe_interface("atsvc", 20) is None  # no interface of the pipe has it
    assert pipe_interface("lsarpc", 3) is None and pipe_interface("PSEXESVC-HOST-1234-stdin", 0) is None
    assert pipe_interface(None, 12) is None and pipe_interface("", 12) is None


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_wireshark_names_the_same_interfaces_and_operations(tmp_path: Path) -> None:
    scapy = pytest.importorskip("scapy.all")
    packets = []
    for i, ((name, opnum), _operation) in enumerate(OPERATIONS.items()):
        key = BY_NAME[name.lower()]
        client, server = 1, 1
        for src, dst, data in (("10.0.0.1", "10.0.0.2", bind([(0, key, INTERFACES[key].version)])),
                               ("10.0.0.2", "10.0.0.1", bind_ack("135", [0])),
                               ("10.0.0.1", "10.0.0.2", request(0, opnum, b"\x00" * 64))):
            to_server = src == "10.0.0.1"
            ports = (41000 + i, 135) if to_server else (135, 41000 + i)
            seq = client if to_server else server
            # explicit MACs: a bare Ether() makes scapy look up the route's next hop (ARP on a host interface)
            packets.append(scapy.Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / scapy.IP(src=src, dst=dst)
                           / scapy.TCP(sport=ports[0], dport=ports[1], flags="PA", seq=seq) / data)
            client, server = (client + len(data), server) if to_server else (client, server + len(data))
    path = tmp_path / "rpc.pcap"
    scapy.wrpcap(str(path), packets)
    run = subprocess.run(["tshark", "-r", str(path), "-Y", "dcerpc.pkt_type == 0", "-T", "fields", "-e", "_ws.col.Info",
                          "-e", "_ws.col.Protocol"], capture_output=True, text=True, check=True, timeout=120)
    lines = run.stdout.splitlines()
    assert len(lines) == len(OPERATIONS)
    for ((name, _), operation), line in zip(OPERATIONS.items(), lines, strict=True):
        info, protocol = line.split("\t")
        if name in WIRESHARK_NAMES:
            assert protocol == WIRESHARK_NAMES[name], (name, line)
            assert info.startswith(WIRESHARK_OPERATIONS.get(operation, operation) + " request"), (operation, line)
        else:  # Wireshark 4.0 has no dissector for it: it shows the UUID we list
            assert BY_NAME[name.lower()] in info, (name, line)
