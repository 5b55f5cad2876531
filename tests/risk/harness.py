"""Test helper for risk checks: run a capture through the engine, the inventory and the risk analyzer (or
the inventory and the classifier, for the identity tests), and build small captures of hand-made traffic with
the lab's frame builders."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from iotwarden.addons import AddonManager
from iotwarden.engine.core import Engine
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.inventory.classifier import DeviceClassifier
from iotwarden.lab.generator import PcapWriter
from iotwarden.lab.wire import Frame, Host, TcpStream, udp_frame
from iotwarden.model import Conclusion, Device
from iotwarden.model.finding import Finding
from iotwarden.risk.analyzer import RiskAnalyzer
from iotwarden.sources.capfile import read_capture

T0 = 1_709_542_800.0  # 2024-03-04T09:00:00Z, the lab scenarios' start


class Classify:
    """Stands in for the classifier: sets ``device_type``/``category`` on devices at the end of the run."""

    name = "classify-stub"

    def __init__(self, types: Mapping[str, tuple[str, str]]) -> None:
        self.types = types  # ip -> (device_type, category)

    def done(self, ctx: Context) -> None:
        for dev in ctx.devices.values():
            for ip in dev.ips:
                if ip in self.types:
                    dtype, category = self.types[ip]
                    dev.classification["device_type"] = Conclusion(dtype, 0.9)
                    dev.classification["category"] = Conclusion(category, 0.9)


def analyse(path: Path, *, options: Mapping[str, Mapping[str, Any]] | None = None,
            classify: Mapping[str, tuple[str, str]] | None = None,
            classifier: bool = False) -> tuple[Context, RiskAnalyzer]:
    """Engine -> inventory (-> classifier stub, or with ``classifier`` the knowledge base's) -> risk over one
    capture; the context and the analyzer."""
    risk = RiskAnalyzer(options=options)
    analyzers: list[Any] = [InventoryBuilder()]
    if classify:
        analyzers.append(Classify(classify))
    if classifier:
        analyzers.append(DeviceClassifier())
    analyzers.append(risk)
    return run_capture(path, analyzers), risk


def run_capture(path: Path, analyzers: list[Any]) -> Context:
    """Engine -> ``analyzers`` over one capture, ticked at each batch's last packet; the context. No analyzer
    may fail."""
    ctx = Context()
    addons = AddonManager(ctx, analyzers)
    addons.load()
    engine = Engine()
    for batch in read_capture(path):
        res = engine.process(batch)
        addons.observations(res.observations)
        addons.flows(res.flows)
        addons.tick(float(batch.ts[-1]))
    res = engine.flush()
    addons.observations(res.observations)
    addons.flows(res.flows)
    addons.done()
    assert not ctx.stats.analyzer_errors, ctx.stats.analyzer_errors
    return ctx


def classified_by_ip(path: Path) -> dict[str, Device]:
    """Engine -> inventory -> classifier over one capture; the devices by their first IP address."""
    ctx = run_capture(path, [InventoryBuilder(), DeviceClassifier()])
    return {next(iter(d.ips)): d for d in ctx.devices.values() if d.ips}


def found(ctx: Context, check_id: str) -> dict[str, Finding]:
    """The findings of one check, by subject device key."""
    return {f.subject: f for f in ctx.findings if f.id == check_id}


def write_pcap(path: Path, frames: Iterable[Frame]) -> Path:
    with path.open("wb") as fh:
        writer = PcapWriter(fh)
        for ts, frame in sorted(frames, key=lambda f: f[0]):
            writer.write(ts, frame)
        writer.flush()
    return path


def host(n: int, net: str = "10.9.0") -> Host:
    """A host on the test segment: MAC 02:00:00:00:00:nn (locally administered), IP net.n."""
    return Host(f"02:00:00:00:00:{n:02x}", f"{net}.{n}")


def tcp(client: Host, server: Host, port: int, exchanges: list[tuple[bool, bytes]], *, t: float = T0,
        seed: int = 1, cport: int = 40000) -> list[Frame]:
    """A whole TCP session: handshake, each (from_client, data) message, close."""
    return TcpStream(random.Random(seed), client, cport, server, port).session(t, exchanges)


def udp(src: Host, dst: Host, sport: int, dport: int, payload: bytes, *, t: float = T0) -> list[Frame]:
    return [(t, udp_frame(src, dst.mac, dst.ip, payload, sport=sport, dport=dport))]


Build = Callable[[Path], Path]


def key_of(truth: Mapping[str, Any], device_id: str) -> str:
    """The inventory key of a lab device (its MAC)."""
    for dev in truth["devices"]:
        if dev["id"] == device_id:
            return f"mac:{dev['mac']}"
    raise KeyError(device_id)


# --- TLS 1.2 handshake pieces (RFC 5246 §7.4) with a chosen version, cipher suite and certificate ------

def _vec(data: bytes, width: int) -> bytes:
    return len(data).to_bytes(width, "big") + data


def tls_record(content_type: int, body: bytes, version: int = 0x0303) -> bytes:
    return bytes([content_type]) + version.to_bytes(2, "big") + _vec(body, 2)


def tls_handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + _vec(body, 3)


def client_hello(suites: Iterable[int], version: int = 0x0303) -> bytes:
    """A minimal ClientHello (RFC 5246 §7.4.1.2) offering ``suites``."""
    body = version.to_bytes(2, "big") + bytes(32) + _vec(b"", 1)
    body += _vec(b"".join(s.to_bytes(2, "big") for s in suites), 2) + b"\x01\x00"
    return tls_record(22, tls_handshake(1, body), 0x0301)


def server_flight(version: int, suite: int, certs: Iterable[bytes]) -> bytes:
    """ServerHello selecting ``version``/``suite`` (§7.4.1.3), then Certificate (§7.4.2), ServerHelloDone."""
    hello = version.to_bytes(2, "big") + bytes(32) + _vec(b"", 1) + suite.to_bytes(2, "big") + b"\x00"
    chain = _vec(b"".join(_vec(c, 3) for c in certs), 3)
    return tls_record(22, tls_handshake(2, hello) + tls_handshake(11, chain) + tls_handshake(14, b""), version)


def certificate(cn: str, *, not_before: float, days: int, self_signed: bool) -> bytes:
    """A DER certificate for ``cn``: self-signed, or issued by a throwaway CA."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    issuer_key = key if self_signed else ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer = name if self_signed else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    start = dt.datetime.fromtimestamp(not_before, dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days)).sign(issuer_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def tls_server(path: Path, *, version: int = 0x0303, suite: int = 0xC02F, self_signed: bool = False,
               expired_days: int | None = None) -> Path:
    """A capture of one TLS handshake from 10.9.0.10 to the server 10.9.0.20:443 at :data:`T0`."""
    not_before = T0 - 30 * 86_400 if expired_days is None else T0 - (expired_days + 90) * 86_400
    der = certificate("device.local", not_before=not_before, days=90 if expired_days is not None else 365,
                      self_signed=self_signed)
    frames = tcp(host(10), host(20), 443, [(True, client_hello([0xC02F, suite])),
                                           (False, server_flight(version, suite, [der]))])
    return write_pcap(path, frames)


def hits(risk: RiskAnalyzer, check_id: str) -> dict[tuple[str | None, str | None], Any]:
    """What one check saw, per endpoint, before resolution to devices (loopback captures have no devices)."""
    (check,) = [c for c in risk.checks if c.id == check_id]
    return dict(check.hits)
