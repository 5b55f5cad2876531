"""Yealink's PC soft client by its SIP User-Agent (issue #3, rules/sip.yaml): 'Yealink VCDesktop <version>' is
software on a computer, which no rule reads, as no rule reads the other softphones (Zoiper, MicroSIP, Linphone):
neither a Yealink phone nor a room system, and Yealink not the computer's maker. Yealink's devices keep theirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.kb import KnowledgeBase
from tests.inventory.test_classifier_enterprise import concluded, stating
from tests.inventory.test_classifier_sip import _register
from tests.risk.harness import T0, classified_by_ip, host, write_pcap

VCDESKTOP = ["Yealink VCDesktop 1.28.0.11", "Yealink VCDesktop 1.23.0.47"]  # TrueConf Server's terminal tables


@pytest.mark.parametrize("ua", VCDESKTOP)
def test_no_rule_reads_yealink_s_soft_client(ua: str) -> None:
    kb = KnowledgeBase.load()
    assert kb.match("sip.user_agent", ua) == [] and kb.match("sip.server", ua) == []
    found = concluded(stating(sip__user_agent=ua))
    assert "device_type" not in found and "model" not in found and "vendor" not in found, found


def test_a_pc_registering_with_vcdesktop_keeps_its_own_maker_and_is_no_phone(tmp_path: Path) -> None:
    pc, pbx = host(41), host(2)
    devices = classified_by_ip(write_pcap(tmp_path / "vcdesktop.pcap", _register(pc, pbx, VCDESKTOP[0], t=T0)))
    dev = devices[pc.ip]
    assert dev.attributes["sip.user_agent"] == {VCDESKTOP[0]}  # read, kept as evidence
    assert dev.device_type not in ("voip_phone", "video_conferencing")
    assert dev.vendor != "Yealink" and dev.conclusion("model") != "VCDesktop"


@pytest.mark.parametrize(("ua", "kind", "model"), [
    ("Yealink SIP-T46S 66.86.0.15", "voip_phone", "T46S"),
    ("Yealink W60B 77.83.0.85", "voip_phone", "W60B"),
    ("Yealink SIP-T21P_E2 52.83.0.35", "voip_phone", "T21P_E2"),  # Greenbone's Yealink SIP detection
    ("Yealink VC800 63.345.0.40", "video_conferencing", "VC800"),
])
def test_yealink_s_devices_keep_their_kind(ua: str, kind: str, model: str) -> None:
    found = concluded(stating(sip__user_agent=ua))
    assert (found["vendor"], found["device_type"], found["model"]) == ("Yealink", kind, model)
