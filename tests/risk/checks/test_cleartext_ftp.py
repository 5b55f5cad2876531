"""risk.cleartext.ftp: FTP logins (RFC 959 USER/PASS) in cleartext."""

from __future__ import annotations

from pathlib import Path

from tests.risk.harness import analyse, found, host, tcp, write_pcap

ID = "risk.cleartext.ftp"


def ftp_capture(path: Path, user: str, password: str, *, greeting: bytes = b"220 FTP server ready\r\n",
                answered: bool = True) -> Path:
    """An FTP control session from 10.9.0.10 to 10.9.0.21:21: greeting, USER, PASS, 230 (not ``answered``: the
    capture ends after the PASS)."""
    return write_pcap(path, tcp(host(10), host(21), 21, [
        (False, greeting), (True, f"USER {user}\r\n".encode()), (False, b"331 Password required\r\n"),
        (True, f"PASS {password}\r\n".encode()),
        *([(False, b"230 Logged in\r\n"), (True, b"QUIT\r\n")] if answered else []),
    ]))


def test_named_login_in_cleartext_is_high_and_never_records_the_password(tmp_path: Path) -> None:
    ctx, _ = analyse(ftp_capture(tmp_path / "ftp.pcap", "operator", "S3cret-pw"))
    finding = found(ctx, ID)["mac:02:00:00:00:00:15"]
    assert finding.severity == "high"
    assert finding.evidence["usernames"] == ["operator"]
    assert finding.evidence["login_results"] == ["success"]
    assert "S3cret-pw" not in str(finding.to_dict())


def test_a_login_whose_answer_the_capture_lacks_is_high_with_its_result_unknown(tmp_path: Path) -> None:
    ctx, _ = analyse(ftp_capture(tmp_path / "ftp.pcap", "operator", "S3cret-pw", answered=False))
    finding = found(ctx, ID)["mac:02:00:00:00:00:15"]
    assert finding.severity == "high"
    assert finding.evidence["usernames"] == ["operator"] and finding.evidence["login_results"] == ["unknown"]
    assert "S3cret-pw" not in str(finding.to_dict())


def test_anonymous_ftp_is_medium(tmp_path: Path) -> None:
    ctx, _ = analyse(ftp_capture(tmp_path / "anon.pcap", "anonymous", "guest@example.com"))
    assert found(ctx, ID)["mac:02:00:00:00:00:15"].severity == "medium"


def test_no_ftp_no_finding(tmp_path: Path) -> None:
    frames = tcp(host(10), host(21), 80, [(True, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                                          (False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")])
    ctx, _ = analyse(write_pcap(tmp_path / "http.pcap", frames))
    assert found(ctx, ID) == {}
