"""RFC 5424 syslog messages carrying CEF, sent over UDP (RFC 5426), TCP with octet-counting framing
(RFC 6587 §3.4.1) or TLS (RFC 5425, the same framing, server certificate verified against a CA).
"""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime
from pathlib import Path

from iotwarden.errors import ConfigError
from iotwarden.export.cef import to_cef
from iotwarden.model.alert import Alert

FACILITY = 4  # "security/authorization messages", RFC 5424 §6.2.1 table 1
SYSLOG_SEVERITY = {"info": 6, "low": 5, "medium": 4, "high": 3, "critical": 2}  # §6.2.1 table 2
APP_NAME = "iotwarden"
MSGID = "alert"
MAX_UDP = 8192  # bytes of one UDP datagram: longer messages are cut (RFC 5426 §3.2 allows it)
CONNECT_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 2.0  # how long a TLS close waits for the collector's close_notify


def rfc5424(alert: Alert, *, hostname: str | None = None, facility: int = FACILITY) -> bytes:
    """``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`` (RFC 5424 §6) with a CEF MSG.

    MSG is UTF-8 with the BOM that §6.4 asks for when it is UTF-8."""
    pri = facility * 8 + SYSLOG_SEVERITY[alert.severity]
    stamp = datetime.fromtimestamp(alert.last_seen, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    host = (hostname or socket.gethostname() or "-").replace(" ", "_")[:255]
    head = f"<{pri}>1 {stamp} {host} {APP_NAME} - {MSGID} -"
    return head.encode("ascii", "replace") + b" \xef\xbb\xbf" + to_cef(alert).encode("utf-8")


def octet_frame(message: bytes) -> bytes:
    """RFC 6587 §3.4.1 / RFC 5425 §4.3: ``MSG-LEN SP SYSLOG-MSG``."""
    return str(len(message)).encode() + b" " + message


class SyslogSender:
    """Sends alerts as RFC 5424 + CEF to one collector; ``transport`` is udp, tcp or tls."""

    def __init__(self, transport: str, host: str, port: int, *, ca: Path | None = None,
                 cert: Path | None = None, key: Path | None = None, hostname: str | None = None) -> None:
        if transport not in ("udp", "tcp", "tls"):
            raise ConfigError(f"syslog transport {transport!r}: one of udp, tcp, tls")
        self.transport, self.host, self.port, self.hostname = transport, host, port, hostname
        self.destination = f"cef+{transport}://[{host}]:{port}" if ":" in host else f"cef+{transport}://{host}:{port}"
        self._sock: socket.socket | None = None
        self._ctx: ssl.SSLContext | None = None
        if transport == "tls":
            self._ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
            if cert is not None:
                self._ctx.load_cert_chain(str(cert), str(key) if key else None)

    def _connect(self) -> socket.socket:
        if self._sock is not None:
            return self._sock
        try:
            if self.transport == "udp":
                family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_DGRAM)
                sock.connect((self.host, self.port))
            else:
                sock = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT_S)
                if self._ctx is not None:
                    sock = self._ctx.wrap_socket(sock, server_hostname=self.host)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"syslog {self.transport}://{self.host}:{self.port}: {exc}") from None
        self._sock = sock
        return sock

    def send(self, alert: Alert) -> None:
        message = rfc5424(alert, hostname=self.hostname)
        sock = self._connect()
        try:
            if self.transport == "udp":
                sock.send(message[:MAX_UDP])
            else:
                sock.sendall(octet_frame(message))
        except OSError as exc:
            self.close()
            raise ConfigError(f"syslog {self.transport}://{self.host}:{self.port}: {exc}") from None

    def close(self) -> None:
        """Close cleanly: TLS close_notify (RFC 5425 §4.4, which also reads what the collector sent,
        e.g. TLS 1.3 session tickets, so the close is a FIN, never an RST that could drop messages)."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            if isinstance(sock, ssl.SSLSocket):
                sock.settimeout(CLOSE_TIMEOUT_S)
                sock = sock.unwrap()
            if self.transport != "udp":
                sock.shutdown(socket.SHUT_WR)
        except (OSError, ValueError):
            pass  # the collector went first; nothing left to deliver
        finally:
            sock.close()
