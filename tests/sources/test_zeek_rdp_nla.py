"""What Zeek's rdp.log says of NLA (RDP::Info, base/protocols/rdp/main.zeek): no requested protocols, so
risk.rdp.no_nla reports the client's offer as unknown unless the selection or a failure proves it; selections
Zeek has no name for ("security_protocol-N") and client core data without a selection read as the dissector reads
packets."""

from __future__ import annotations

from iotwarden.addons import AddonManager
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.risk.analyzer import RiskAnalyzer
from iotwarden.sources.zeek_rdp import map_rdp, protocol_name
from tests.risk.harness import found

ID = "risk.rdp.no_nla"
CLIENT, SERVER = "10.0.3.66", "10.0.3.10"


def _rec(**kw: object) -> dict[str, object]:
    return {"ts": 1_700_000_000.0, "uid": "Crdp1", "id.orig_h": CLIENT, "id.orig_p": 50001, "id.resp_h": SERVER,
            "id.resp_p": 3389, **kw}


def _evidence(**kw: object) -> list[dict[str, list[str]]]:
    ctx = Context()
    addons = AddonManager(ctx, [InventoryBuilder(), RiskAnalyzer()])
    addons.load()
    addons.observations(map_rdp(_rec(**kw)))
    addons.done()
    return [f.evidence for f in found(ctx, ID).values()]


def test_an_ssl_selection_leaves_the_clients_offer_unknown() -> None:
    # a client that offered SSL alone, or a server without NLA that chose below HYBRID: rdp.log cannot tell
    (evidence,) = _evidence(cookie="op", result="encrypted", security_protocol="SSL")
    assert evidence["selected_protocols"] == ["SSL"] and evidence["client_offered_nla"] == ["unknown"]


def test_what_the_selection_or_a_failure_proves() -> None:
    (_, hybrid) = map_rdp(_rec(result="encrypted", security_protocol="HYBRID"))
    assert hybrid.fields["client_offered_nla"] is True  # [MS-RDPBCGR] §3.3.5.3.2: one of the client's protocols
    (_, failure) = map_rdp(_rec(cookie="op", result="HYBRID_REQUIRED_BY_SERVER"))
    assert failure.fields["client_offered_nla"] is False  # §2.2.1.2.2: the server wanted what was not offered
    (_, refused) = map_rdp(_rec(cookie="op", result="SSL_REQUIRED_BY_SERVER"))
    assert "client_offered_nla" not in refused.fields


def test_selections_zeek_has_no_name_for() -> None:
    # consts.zeek security_protocols has RDP, SSL, HYBRID, HYBRID_EX; others log as "security_protocol-N"
    assert protocol_name("security_protocol-4") == "RDSTLS"
    assert protocol_name("security_protocol-16") == "RDSAAD"
    assert protocol_name("security_protocol-64") == "0x40"
    assert protocol_name("hybrid_ex") == "HYBRID_EX"
    assert _evidence(result="encrypted", security_protocol="security_protocol-4") == []  # RDSTLS authenticates


def test_client_core_data_alone_is_standard_security() -> None:
    # the MCS Connect Initial is cleartext only under standard RDP security ([MS-RDPBCGR] §1.3.1.1): a line whose
    # server security data Zeek did not log still shows a server that took the connection without NLA
    (evidence,) = _evidence(cookie="eng", client_build="RDP 5.1", client_name="ENG-XP",
                            keyboard_layout="English - United States", requested_color_depth="16bit")
    assert evidence["selected_protocols"] == ["RDP"] and evidence["client_offered_nla"] == ["unknown"]
    assert _evidence(cookie="eng") == []  # a cookie alone says nothing of the server
