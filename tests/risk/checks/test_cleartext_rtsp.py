"""risk.cleartext.rtsp: RTSP Basic credentials (RFC 2326 §12.5, RFC 7617) or a URI password in cleartext."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iotwarden.risk.scorer import device_score
from tests.risk.checks.test_rtsp_unauthenticated_stream import CAMERA, DIGEST, basic, rtsp_capture
from tests.risk.harness import analyse, found, key_of

ID = "risk.cleartext.rtsp"


def test_basic_credentials_after_a_challenge_are_high_and_the_password_is_never_recorded(tmp_path: Path) -> None:
    ctx, _ = analyse(rtsp_capture(tmp_path / "basic.pcap", auth=basic("nvr", "Kx8!vR2q"), challenge="basic"))
    finding = found(ctx, ID)[CAMERA]
    assert finding.severity == "high"
    assert finding.evidence["usernames"] == ["nvr"]
    assert finding.evidence["clients"] == ["10.9.0.10"]
    assert finding.evidence["challenges"] == ['Basic realm="Hikvision"']
    assert "Kx8!vR2q" not in str(finding.to_dict())


def test_a_server_asking_for_basic_is_medium_before_any_password_is_sent(tmp_path: Path) -> None:
    ctx, _ = analyse(rtsp_capture(tmp_path / "asked.pcap", challenge="basic", retry=False))
    assert found(ctx, ID)[CAMERA].severity == "medium"


def test_a_password_in_the_request_uri_is_high_even_when_the_server_uses_digest(tmp_path: Path) -> None:
    ctx, _ = analyse(rtsp_capture(tmp_path / "uri.pcap", auth=DIGEST, challenge="digest", uri_userinfo="nvr:Kx8!vR2q@"))
    finding = found(ctx, ID)[CAMERA]
    assert finding.severity == "high"
    assert (finding.evidence["usernames"], finding.evidence["sent_in"]) == (["nvr"], ["uri"])
    assert "Kx8!vR2q" not in str(finding.to_dict())


def test_digest_and_an_open_stream_send_no_password(tmp_path: Path) -> None:
    ctx, _ = analyse(rtsp_capture(tmp_path / "digest.pcap", auth=DIGEST, challenge="digest"))
    assert found(ctx, ID) == {}
    ctx, _ = analyse(rtsp_capture(tmp_path / "open.pcap"))
    assert found(ctx, ID) == {}


def test_lab_parking_camera_set_to_basic_is_the_only_one(enterprise_lab: Any) -> None:
    # enterprise.yaml: cam-parking's RTSP authentication is Basic (the recorder logs in with a site password)
    ctx, _, truth = enterprise_lab
    parking = key_of(truth, "cam-parking")
    assert set(found(ctx, ID)) == {parking}
    assert found(ctx, ID)[parking].severity == "high"
    assert found(ctx, ID)[parking].evidence["usernames"] == ["nvr"]
    others = [f for f in ctx.findings if f.subject == parking and f.id != ID]
    assert device_score([*others, found(ctx, ID)[parking]]) > device_score(others)  # the score counts it


def test_lab_digest_cameras_are_not_flagged(small_lab: Any) -> None:
    ctx, _, _ = small_lab
    assert found(ctx, ID) == {}
