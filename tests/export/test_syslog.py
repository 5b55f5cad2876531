"""CEF over RFC 5424 syslog to real receivers on loopback: UDP (RFC 5426), TCP with octet counting
(RFC 6587 §3.4.1) and TLS (RFC 5425) verified against a test CA."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import pytest

from iotwarden.errors import ConfigError
from iotwarden.export import open_exporter
from iotwarden.export.cef import parse_cef
from iotwarden.export.syslog import octet_frame, rfc5424
from tests.export.alerts import sample_alerts
from tests.export.receivers import StreamReceiver, UdpReceiver, make_ca

# RFC 5424 §6: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]
HEADER = re.compile(rb"^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (\S+) iotwarden - alert - \xef\xbb\xbf")


def _check(message: bytes, alert_index: int) -> None:
    alerts = sample_alerts()
    m = HEADER.match(message)
    assert m, message[:80]
    pri = int(m.group(1))
    assert pri // 8 == 4  # facility: security/authorization
    assert pri % 8 == {"high": 3, "medium": 4, "critical": 2}[alerts[alert_index].severity]
    header, ext = parse_cef(message[m.end():].decode("utf-8"))
    assert header[4] == alerts[alert_index].id
    assert ext["externalId"] == alerts[alert_index].uid


def test_rfc5424_message_layout() -> None:
    msg = rfc5424(sample_alerts()[0], hostname="sensor 1")
    assert msg.startswith(b"<35>1 2024-03-04T09:01:30.500000Z sensor_1 iotwarden - alert - \xef\xbb\xbfCEF:0|")
    assert octet_frame(b"abc") == b"3 abc"


def test_udp_syslog_receiver_gets_one_datagram_per_alert() -> None:
    rx = UdpReceiver()
    try:
        exporter = open_exporter(f"cef+udp://127.0.0.1:{rx.port}")
        for alert in sample_alerts():
            exporter.send(alert)
        exporter.close()
        got = rx.receive(3)
    finally:
        rx.close()
    for i, message in enumerate(got):
        _check(message, i)


def test_tcp_syslog_uses_octet_counting_framing() -> None:
    rx = StreamReceiver(3)
    exporter = open_exporter(f"cef+tcp://127.0.0.1:{rx.port}")
    for alert in sample_alerts():
        exporter.send(alert)
    exporter.close()
    got = rx.wait()
    assert len(got) == 3
    for i, message in enumerate(got):
        _check(message, i)


def test_tls_syslog_verifies_the_collector_against_the_given_ca(tmp_path: Path) -> None:
    ca, cert, key = make_ca(tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    rx = StreamReceiver(3, tls=server)
    exporter = open_exporter(f"cef+tls://127.0.0.1:{rx.port}?ca={ca}")
    for alert in sample_alerts():
        exporter.send(alert)
    exporter.close()
    got = rx.wait()
    assert len(got) == 3
    for i, message in enumerate(got):
        _check(message, i)


def test_tls_refuses_a_collector_the_ca_did_not_sign(tmp_path: Path) -> None:
    _, cert, key = make_ca(tmp_path)
    (tmp_path / "other").mkdir()
    other_ca, _, _ = make_ca(tmp_path / "other")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    rx = StreamReceiver(1, tls=server)
    exporter = open_exporter(f"cef+tls://127.0.0.1:{rx.port}?ca={other_ca}")
    with pytest.raises(ConfigError, match="certificate verify failed"):
        exporter.send(sample_alerts()[0])
    rx.thread.join(10)
    rx.sock.close()
    assert rx.messages == [] and rx.error is not None  # the collector saw the client abort the handshake


@pytest.mark.parametrize("url", ["cef+smtp://127.0.0.1", "cef+udp://", "stix+file://", "nope://x"])
def test_bad_export_urls_are_one_clear_error(url: str) -> None:
    with pytest.raises(ConfigError, match="--export"):
        open_exporter(url)
