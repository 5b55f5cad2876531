"""FTP dissector on real traffic: pyftpdlib 2.2.0 logged into by Python ftplib and curl on loopback.

The capture (tests/dissect/data/ftp_pyftpdlib.pcap, made by make_captures.py) holds four control
connections: a wrong password (530), admin/admin with a passive LIST (230), anonymous (230), curl.
"""

from __future__ import annotations

from iotwarden.dissect.ftp import FtpDissector
from tests.dissect.data.captures import by_dissector, by_engine, comparable

CAPTURE = "ftp_pyftpdlib.pcap"
SERVER = "127.0.0.1"
BANNER = "pyftpdlib 2.2.0 ready."  # pyftpdlib FTPHandler.banner, "pyftpdlib %s ready."


def test_each_connection_reports_the_server_greeting() -> None:
    banners = [o for o in by_dissector(FtpDissector(), CAPTURE) if o.kind == "banner"]
    assert [o.fields for o in banners] == [{"code": 220, "banner": BANNER}] * 4
    assert all(o.subject == "src" and o.src_ip == SERVER and o.src_port == 21 for o in banners)


def test_login_attempts_carry_the_credentials_and_the_servers_verdict() -> None:
    attempts = [o for o in by_dissector(FtpDissector(), CAPTURE) if o.kind == "login_attempt"]
    assert [o.fields for o in attempts] == [
        {"username": "admin", "password": "wrong-password", "result": "failure", "code": 530},
        {"username": "admin", "password": "admin", "result": "success", "code": 230},
        # ftplib's anonymous login sends "anonymous@" as the password (RFC 1635 convention)
        {"username": "anonymous", "password": "anonymous@", "result": "success", "code": 230},
        {"username": "admin", "password": "admin", "result": "success", "code": 230},  # curl
    ]
    # sent by the client, about the server logged into
    assert all(o.subject == "dst" and o.dst_ip == SERVER and o.dst_port == 21 for o in attempts)
    assert all(o.src_port != 21 for o in attempts)


def test_the_engine_with_default_dissectors_sees_the_same() -> None:
    alone = by_dissector(FtpDissector(), CAPTURE)
    assert len(alone) == 8
    assert comparable(by_engine("ftp", CAPTURE)) == comparable(alone)
