"""A device speaking a protocol or service port it never used while learning.

Id ``detect.new_protocol`` (ATT&CK T1571 Non-Standard Port, T1205; for OT devices T0869 Standard
Application Layer Protocol). Items are (transport, server port, recognised application) of the
established flows a device initiates, and (transport, port) of those it serves; ephemeral ports
(IANA dynamic range 49152-65535, RFC 6335 §6) are folded into one item so passive FTP or RTP does not
look new each time. Each new item is reported once, then learned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from iotwarden.detect.base import Detector, Options, established, is_internal, subject_key
from iotwarden.detect.baseline import LEARN_S, Novelty
from iotwarden.hooks import Context
from iotwarden.model import Flow

NEW_PROTOCOL = "detect.new_protocol"
DYNAMIC_PORTS = 49152  # RFC 6335 §6
TRANSPORTS = {6: "tcp", 17: "udp"}


@dataclass(frozen=True)
class NewProtocolOptions(Options):
    learn_s: float = LEARN_S
    ephemeral_from: int = DYNAMIC_PORTS  # server ports at or above this are one item "ephemeral"
    ignore_ports: str = "53,67,68,123,137,138,1900,5353,5355"  # infrastructure services every device uses


class NewProtocolDetector(Detector):
    name: ClassVar[str] = "detect.new_protocol"
    ids: ClassVar[tuple[str, ...]] = (NEW_PROTOCOL,)
    defaults: ClassVar[Options] = NewProtocolOptions()

    def __init__(self, options: dict[str, object] | None = None) -> None:
        super().__init__(options)
        self.items = Novelty(learn_s=self.options.learn_s)
        self._ignore = frozenset(int(p) for p in str(self.options.ignore_ports).split(",") if p.strip())

    def flow(self, ctx: Context, flow: Flow) -> None:
        transport = TRANSPORTS.get(flow.ip_proto)
        self.items.touch(flow.a_ip, flow.first_seen)
        self.items.touch(flow.b_ip, flow.first_seen)
        if transport is None or flow.b_port in self._ignore or not established(flow):
            return
        port = "ephemeral" if flow.b_port >= self.options.ephemeral_from else flow.b_port
        app = flow.app or "-"
        for role, ip, mac in (("client", flow.a_ip, flow.a_mac), ("server", flow.b_ip, flow.b_mac)):
            if not is_internal(ip):
                continue  # baselines are of the site's own devices
            item = (role, transport, port, app)
            if self.items.check(ip, item, flow.first_seen):
                what = f"{flow.app} " if flow.app else ""
                self.raise_alert(ctx, NEW_PROTOCOL, title=f"{ip} {'uses' if role == 'client' else 'serves'} "
                                 f"{what}{transport}/{port} for the first time", severity="low",
                                 subject=subject_key(ctx, mac, ip), ts=flow.first_seen,
                                 key=f"{role}:{transport}/{port}/{app}",
                                 mitre=("T1571",), src_ip=flow.a_ip, dst_ip=flow.b_ip,
                                 evidence={"role": role, "transport": transport, "port": port, "app": flow.app},
                                 flows=[flow])
