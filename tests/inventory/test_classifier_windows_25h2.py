"""Windows 11 25H2 by its NTLM build (issue #3, rules/smb.yaml): build 26200, which Microsoft's release tables give to
Windows 11 version 25H2 alone, names that release and makes a workstation (smb.ntlm.windows_client_build); 26100,
which Windows 11 24H2 shares with Windows Server 2025, still names both and types nothing, and builds that only
begin like 26200 are no release."""

from __future__ import annotations

import pytest

from iotwarden.kb import KnowledgeBase
from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating


def test_build_26200_is_windows_11_25h2_and_a_workstation() -> None:
    dev = stating(smb__ntlm_version="10.0.26200")
    found = concluded(dev)
    assert (found["os"], found["os_version"], found["device_type"]) == ("Windows", "11 25H2", "workstation")
    assert rules_for(dev, "os_version") == {"smb.ntlm.windows_26200"}
    assert rules_for(dev, "device_type") == {"smb.ntlm.windows_client_build"}


def test_build_26100_still_names_both_products_and_no_type() -> None:
    found = concluded(stating(smb__ntlm_version="10.0.26100"))
    assert (found["os"], found["os_version"]) == ("Windows", "11 24H2 / Server 2025")
    assert "device_type" not in found


@pytest.mark.parametrize("version", ["10.0.2620", "10.0.262001", "10.0.26201", "6.3.26200"])
def test_a_build_that_only_looks_like_26200_is_read_by_neither_rule(version: str) -> None:
    ids = {m.rule_id for m in KnowledgeBase.load().match("smb.ntlm_version", version)}
    assert not ids & {"smb.ntlm.windows_26200", "smb.ntlm.windows_client_build"}
