"""Lab LDAP (enterprise.yaml): the HP MFP's lookups bind to the DC in cleartext as its service account, and the DC
answers its members' CLDAP pings, all read back by dissect/ldap.py; risk.cleartext.ldap fires on the MFP alone and
the DC is named and typed domain_controller. With ``tls`` the MFP's bind goes inside StartTLS: no finding.
enterprise-ldap.yaml's camera sprays passwords over simple binds: detect.bruteforce.ldap names it, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.addons import default_analyzers
from iotwarden.dissect.ldap import LdapDissector
from iotwarden.hooks import Context
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.lab.ldap_app import base_dn
from tests.detect.runner import detect
from tests.lab.conftest import SCENARIOS, observations_of
from tests.pcaputil import run_dissector
from tests.risk.harness import found, run_capture

MFP_KEY, DC_KEY = "mac:04:0e:3c:5b:77:02", "mac:98:e7:43:10:00:0a"


@pytest.fixture(scope="module")
def enterprise(tmp_path_factory: pytest.TempPathFactory) -> Context:
    path = tmp_path_factory.mktemp("ldap-lab") / "enterprise.pcap"
    generate(load_scenario(SCENARIOS / "enterprise.yaml"), path, duration=600)
    return run_capture(path, default_analyzers())


def test_the_mfp_lookups_and_the_dc_locator_are_read_back(tmp_path: Path) -> None:
    obs, _ = observations_of("enterprise.yaml", tmp_path, "ldap")
    kinds = {o.kind for o in obs}
    assert {"bind_request", "bind_response", "login_attempt", "search_request", "search_result_entry",
            "search_result_done", "unbind_request", "netlogon_response"} <= kinds
    binds = [o for o in obs if o.kind == "bind_request"]
    assert {(o.src_mac, o.fields["name"], o.fields["bind_kind"], o.fields["password_present"]) for o in binds} == {
        ("04:0e:3c:5b:77:02", "CN=svc-mfp,OU=Service Accounts,DC=corp,DC=example", "simple", True)}
    assert all(o.fields["result"] == "success" for o in obs if o.kind == "login_attempt")
    pings = [o for o in obs if o.kind == "search_request" and o.fields.get("netlogon")]
    assert pings and {o.fields["dns_domain"] for o in pings} == {"corp.example"}


def test_the_mfp_exposes_its_service_account_and_the_dc_is_named(enterprise: Context) -> None:
    (finding,) = found(enterprise, "risk.cleartext.ldap").values()
    assert finding.subject == MFP_KEY and finding.severity == "high"
    assert finding.evidence["bind_names"] == ["CN=svc-mfp,OU=Service Accounts,DC=corp,DC=example"]
    assert finding.evidence["servers"] == ["10.10.10.10"] and "Scan2Mail" not in str(finding.evidence)
    dc = enterprise.devices[DC_KEY]
    assert {"DC01", "DC01.corp.example"} <= set(dc.hostnames)
    assert (dc.device_type, dc.category) == ("domain_controller", "it")
    assert dc.attributes["ldap.dc_site_name"] == {"HQ"}
    assert not [a for a in enterprise.alerts if "ldap" in a.id]


def test_start_tls_hides_the_bind(tmp_path: Path) -> None:
    scenario = (SCENARIOS / "enterprise.yaml").read_text().replace("users: [anna, jdoe, mweber], every: 240}",
                                                                   "users: [anna], every: 240, tls: true}")
    assert "tls: true" in scenario
    path = tmp_path / "enterprise.yaml"
    path.write_text(scenario)
    generate(load_scenario(path), tmp_path / "e.pcap", duration=600)
    ctx = run_capture(tmp_path / "e.pcap", default_analyzers())
    assert found(ctx, "risk.cleartext.ldap") == {}
    assert ctx.devices[MFP_KEY].attributes["ldap.operation"] == {"StartTLS"}


def test_base_dn() -> None:
    assert base_dn("corp.example") == "DC=corp,DC=example"


def test_the_camera_s_password_spraying_is_in_the_truth_and_alerted(tmp_path: Path) -> None:
    generate(load_scenario(SCENARIOS / "enterprise-ldap.yaml"), tmp_path / "a.pcap", tmp_path / "a.json", attacks=True)
    (attack,) = json.loads((tmp_path / "a.json").read_text())["attacks"]
    assert attack["kind"] == "ldap_bruteforce" and attack["technique"].startswith("T1110.003")
    ctx = detect([tmp_path / "a.pcap"])
    (alert,) = ctx.alerts
    assert (alert.id, alert.src_ip, alert.subject) == ("detect.bruteforce.ldap", attack["attacker"]["ip"],
                                                       f"mac:{attack['attacker']['mac']}")
    assert alert.dst_ip == attack["targets"][0]
    logins = [o for o in run_dissector(LdapDissector(), tmp_path / "a.pcap")
              if o.kind == "login_attempt" and o.fields["result"] == "failure"]
    assert len(logins) == 10 and {o.fields["code"] for o in logins} == {49}
