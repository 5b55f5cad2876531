"""Windows and macOS hosts as the wire shows them (issue 3): an operating system only IT machines run makes the host
category it when nothing names another one (inventory/classifier.py IT_OS, rule id os.it_system), and yields to any
OT, medical or building evidence; an NTLM build only client Windows has makes a workstation
(smb.ntlm.windows_client_build, Microsoft's release tables), a build Windows Server shares types nothing."""

from __future__ import annotations

import pytest

from iotwarden.inventory.classifier import IT_OS_RULE, IT_OS_WEIGHT, IT_SYSTEM
from iotwarden.inventory.weighing import MIN_CONFIDENCE
from iotwarden.model import Device
from tests.inventory.test_classifier_enterprise import _classifier, concluded, rules_for, stating

# what a Windows 10 22H2 workstation sends with no browser or service of its own (helper G2's host): DHCP's
# vendor class and request list, its NTLM version, its telemetry's TLS name
WINDOWS_PRL = "1,3,6,15,31,33,43,44,46,47,119,121,249,252"  # Windows 10/11's option 55 (lab dhcp profile windows)
WINDOWS_DHCP = {"dhcp__vendor_class": "MSFT 5.0", "dhcp__param_req_list": WINDOWS_PRL}
MACOS_PRL = "1,121,3,6,15,119,252,95,44,46"  # rules/dhcp.yaml dhcp.prl.apple_macos
SIEMENS_MAC = "ec:1c:5d:30:00:10"  # Siemens' IEEE block: mac.vendor.siemens (category ot, 0.2)


def test_a_windows_host_that_states_only_its_system_is_it() -> None:
    dev = stating(**WINDOWS_DHCP, tls__sni="v10.events.data.microsoft.com")
    found = concluded(dev)
    assert (found["os"], found["category"]) == ("Windows", "it")
    assert "device_type" not in found  # nothing says workstation or server
    assert rules_for(dev, "category") == {IT_OS_RULE}


def test_the_system_alone_is_worth_the_threshold_and_no_more() -> None:
    assert IT_OS_WEIGHT == MIN_CONFIDENCE  # concludes alone; any other category's evidence is weighed before it


def test_a_macos_host_is_it() -> None:
    dev = stating(dhcp__param_req_list=MACOS_PRL)
    found = concluded(dev)
    assert (found["os"], found["category"]) == ("macOS", "it")
    assert rules_for(dev, "category") == {IT_OS_RULE}


@pytest.mark.parametrize(("evidence", "category"), [
    ({"service__client": "modbus"}, "ot"),  # a Windows SCADA node polling PLCs (service.client.modbus 0.6)
    ({"s7comm__connection_type": "op"}, "ot"),  # a Windows HMI's S7 OP connection (s7.client.op_connection)
    ({"service__client": "fox"}, "building"),  # a Niagara Workbench on Windows (service.client.fox)
    ({"dicom__requested_sop_classes": "Modality Worklist Information Model - FIND"}, "medical"),  # a modality
])
def test_ot_medical_or_building_evidence_outweighs_the_system(evidence: dict[str, str], category: str) -> None:
    dev = stating(**WINDOWS_DHCP, smb__ntlm_version="10.0.19044", **evidence)
    found = concluded(dev)
    assert (found["os"], found["category"]) == ("Windows", category)
    assert IT_OS_RULE not in {e["rule_id"] for e in _category_evidence(dev)}


def test_even_evidence_too_weak_to_conclude_takes_the_system_s_word_away() -> None:
    # a Windows host on Siemens' block (a SIMATIC IPC, say): the block's 0.2 for OT says no category alone,
    # and the system does not make it IT over it
    dev = stating(SIEMENS_MAC, **WINDOWS_DHCP)
    found = concluded(dev)
    assert found["os"] == "Windows"
    assert "category" not in found
    assert concluded(stating(**WINDOWS_DHCP))["category"] == "it"  # the same host on no maker's block


def test_windows_ce_is_not_it_by_its_system() -> None:
    dev = stating(ads__os_platform="windows_ce")
    found = concluded(dev)
    assert found["os"] == "Windows CE"
    assert "category" not in found


@pytest.mark.parametrize(("build", "release"), [
    ("10240", "10 1507"), ("10586", "10 1511"), ("15063", "10 1703"), ("19043", "10 21H1"), ("19044", "10 21H2"),
    ("19045", "10 22H2"), ("22000", "11 21H2"), ("22621", "11 22H2"), ("22631", "11 23H2"),
])
def test_a_build_only_client_windows_has_makes_a_workstation(build: str, release: str) -> None:
    dev = stating(**WINDOWS_DHCP, smb__ntlm_version=f"10.0.{build}")
    found = concluded(dev)
    assert (found["os"], found["os_version"], found["device_type"], found["category"]) == (
        "Windows", release, "workstation", "it")
    assert rules_for(dev, "device_type") == {"smb.ntlm.windows_client_build"}


@pytest.mark.parametrize("build", [
    "14393",  # 10 1607 and Server 2016
    "16299", "17134", "18362", "18363", "19041", "19042",  # 10 1709 ... 20H2 and Server's Semi-Annual Channel
    "17763",  # 10 1809 and Server 2019
    "26100",  # 11 24H2 and Server 2025
])
def test_a_build_windows_server_shares_types_nothing(build: str) -> None:
    found = concluded(stating(**WINDOWS_DHCP, smb__ntlm_version=f"10.0.{build}"))
    assert (found["os"], found["category"]) == ("Windows", "it")
    assert "device_type" not in found


@pytest.mark.parametrize("build", ["20348", "25398"])
def test_a_server_only_build_answering_as_a_server_makes_a_server(build: str) -> None:
    dev = stating(**WINDOWS_DHCP, smb__ntlm_version=f"10.0.{build}", smb__server_ntlm_version=f"10.0.{build}")
    found = concluded(dev)
    assert (found["device_type"], found["category"]) == ("server", "it")
    assert "smb.server.windows_server_build" in rules_for(dev, "device_type")


def test_an_hmi_on_windows_10_iot_enterprise_stays_an_hmi() -> None:
    # Windows 10 IoT Enterprise LTSC 2021 has the client build 19044: the HMI's own S7 OP connection outweighs it
    dev = stating(SIEMENS_MAC, **WINDOWS_DHCP, smb__ntlm_version="10.0.19044", s7comm__connection_type="op",
                  service__client="s7comm")
    found = concluded(dev)
    assert (found["os"], found["device_type"], found["category"]) == ("Windows", "hmi", "ot")


def test_a_domain_controller_s_kerberos_and_ldap_roles_make_a_server() -> None:
    kdc = stating(**WINDOWS_DHCP, smb__ntlm_version="10.0.17763", service__server="kerberos")
    assert (concluded(kdc)["device_type"], concluded(kdc)["category"]) == ("server", "it")
    dc = stating(**WINDOWS_DHCP, service__server="kerberos", ldap__flags="DS_DS_FLAG")
    assert (concluded(dc)["device_type"], concluded(dc)["category"]) == ("domain_controller", "it")


def _category_evidence(dev: Device) -> list[dict[str, object]]:
    """Every match weighed for the category, agreeing or not."""
    return list(_classifier().classify(dev)["category"].evidence)


# industrial-PC and Siemens blocks (rules/mac.yaml, 0.2 for ot) and an OT protocol the host polls with
OT_LEANING = [
    pytest.param(SIEMENS_MAC, {}, None, id="siemens-block"),
    pytest.param("00:13:95:07:81:a1", {}, None, id="congatec-block"),  # PANELPC02's block (ics_iti mb2.pcap)
    pytest.param("00:d0:c9:12:34:56", {}, None, id="advantech-block"),
    pytest.param("", {"service__client": "modbus"}, "ot", id="modbus-poller"),
    pytest.param("", {"service__client": "bacnet"}, "building", id="bacnet-front-end"),
]


@pytest.mark.parametrize(("mac", "evidence", "category"), OT_LEANING)
@pytest.mark.parametrize("build", ["19044", "19045", "10240"])  # LTSC 2021, 22H2 (IoT Enterprise has each), LTSB 2015
def test_a_client_build_types_no_workstation_where_the_system_yields(
        mac: str, evidence: dict[str, str], category: str | None, build: str) -> None:
    # review R2 of 66b04af/f645b66: Windows 10 IoT Enterprise has the client builds, so smb.ntlm.windows_client_build
    # (behaviour it_system) yields where the system does: no workstation, and no category it through its type
    dev = stating(mac, **WINDOWS_DHCP, smb__ntlm_version=f"10.0.{build}", **evidence)
    found = concluded(dev)
    assert found["os"] == "Windows"
    assert "device_type" not in found
    assert found.get("category") == category
    # the same host on no maker's block, polling nothing, is a workstation
    plain = concluded(stating(**WINDOWS_DHCP, smb__ntlm_version=f"10.0.{build}"))
    assert (plain["device_type"], plain["category"]) == ("workstation", "it")


def test_the_client_build_rule_is_marked_as_the_system_s_word() -> None:
    rule = next(r for r in _classifier().kb.rules if r.id == "smb.ntlm.windows_client_build")
    assert rule.behaviour == IT_SYSTEM


def test_a_workstation_s_own_evidence_still_types_it_on_an_ot_leaning_block() -> None:
    # what is not the system's word stands: a host announcing itself as a computer (WPS primary device type 1) on
    # Siemens' block is a workstation; only the build's evidence yields
    dev = stating(SIEMENS_MAC, **WINDOWS_DHCP, smb__ntlm_version="10.0.19044", wps__primary_device_type="1-0050F204-1")
    found = concluded(dev)
    assert found["device_type"] == "workstation"
    assert rules_for(dev, "device_type") == {"wps.type.computer"}
