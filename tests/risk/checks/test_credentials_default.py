"""risk.credentials.default: cleartext logins with a pair from the default-credential base."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from iotwarden.hooks import Context
from iotwarden.model import Observation
from iotwarden.risk.checks.credentials_default import DefaultCredentials
from tests.conftest import shared
from tests.risk.checks.test_cleartext_ftp import ftp_capture
from tests.risk.checks.test_rtsp_unauthenticated_stream import CAMERA, DIGEST, basic, rtsp_capture
from tests.risk.harness import analyse, found, key_of

ID = "risk.credentials.default"


def test_mirai_login_that_succeeded_is_critical(small_lab: Any) -> None:
    # small.yaml: ws-01 logs into dvr-01 as root/vizxv; cam-01 brute-forces it with Mirai's list
    ctx, _, truth = small_lab
    finding = found(ctx, ID)[key_of(truth, "dvr-01")]
    assert finding.severity == "critical"
    assert "root:vizxv" in finding.evidence["credentials"]
    assert "mirai" in finding.evidence["lists"]
    assert "success" in finding.evidence["login_results"]


def test_refused_default_logins_are_low(enterprise_lab: Any) -> None:
    # enterprise-attack.yaml: cam-parking brute-forces cam-lobby, which refuses every pair
    ctx, _, truth = enterprise_lab
    finding = found(ctx, ID)[key_of(truth, "cam-lobby")]
    assert finding.severity == "low"
    assert finding.evidence["login_results"] == ["failure"]


def test_ftp_default_pair_matches_and_a_site_password_does_not(tmp_path: Path) -> None:
    ctx, _ = analyse(ftp_capture(tmp_path / "admin.pcap", "admin", "admin"))
    assert found(ctx, ID)["mac:02:00:00:00:00:15"].severity == "critical"
    ctx, _ = analyse(ftp_capture(tmp_path / "site.pcap", "operator", "x7!Lq-site-only"))
    assert found(ctx, ID) == {}


def test_ftp_default_pair_whose_answer_the_capture_lacks_is_high(tmp_path: Path) -> None:
    # the capture ends after the PASS: the pair crossed the network in cleartext, whether it worked is unknown
    ctx, _ = analyse(ftp_capture(tmp_path / "admin.pcap", "admin", "admin", answered=False))
    finding = found(ctx, ID)["mac:02:00:00:00:00:15"]
    assert finding.severity == "high"
    assert finding.evidence["credentials"] == ["admin:admin"] and finding.evidence["login_results"] == ["unknown"]
    assert finding.evidence["services"] == ["ftp"]


def test_rtsp_basic_with_hikvisions_published_default_is_critical(tmp_path: Path) -> None:
    # DefaultCreds cheat sheet: hikvision admin/12345, sent as RTSP Basic credentials and accepted (200)
    ctx, _ = analyse(rtsp_capture(tmp_path / "basic.pcap", auth=basic("admin", "12345"), challenge="basic"))
    finding = found(ctx, ID)[CAMERA]
    assert finding.severity == "critical"
    assert finding.evidence["credentials"] == ["admin:12345"]
    assert finding.evidence["services"] == ["rtsp"] and finding.evidence["login_results"] == ["success"]


def test_rtsp_uri_with_a_default_pair_matches_and_digest_or_a_site_password_does_not(tmp_path: Path) -> None:
    ctx, _ = analyse(rtsp_capture(tmp_path / "uri.pcap", auth=DIGEST, challenge="digest", uri_userinfo="admin:12345@"))
    assert found(ctx, ID)[CAMERA].evidence["credentials"] == ["admin:12345"]
    ctx, _ = analyse(rtsp_capture(tmp_path / "digest.pcap", auth=DIGEST, challenge="digest"))
    assert found(ctx, ID) == {}
    ctx, _ = analyse(rtsp_capture(tmp_path / "site.pcap", auth=basic("admin", "x7!Lq-site-only"), challenge="basic"))
    assert found(ctx, ID) == {}


def test_telnet_capture_with_a_non_default_password_is_not_flagged() -> None:
    ctx, _ = analyse(shared("pcaps", "suricata_verify", "telnet", "telnet-01", "telnet.pcap"))
    assert found(ctx, ID) == {}


def _comment_pair(comment: str) -> tuple[str, str]:
    user, _, password = comment.partition(" ")
    return user, "" if password == "(none)" else password


def test_every_pair_of_mirais_scanner_is_in_the_base() -> None:
    # the pairs decoded from mirai/bot/scanner.c (shared/data/creds SOURCE.txt); where the decoded
    # bytes disagree with the source's own comment (comment_matches_decoded False) the comment is taken
    with shared("creds", "mirai_scanner_credentials.csv").open(newline="") as fh:
        pairs = {(r["username"], r["password"]) if r["comment_matches_decoded"] == "True"
                 else _comment_pair(r["comment_in_source"]) for r in csv.DictReader(fh)}
    check = DefaultCredentials()
    missing = {p for p in pairs if p not in check.pairs}
    assert not missing, missing
    ctx = Context()
    for n, (user, password) in enumerate(sorted(pairs)):
        check.on_observation(ctx, Observation(ts=float(n), proto="telnet", kind="login_attempt",
                                              src_ip="10.0.0.9", dst_ip="10.0.0.1", subject="dst",
                                              fields={"username": user, "password": password, "result": "failure"}))
    assert check.hits[(None, "10.0.0.1")].count == len(pairs)
