"""Quarantine enforcement: the :class:`QuarantineEnforcer` interface, the standalone nftables table that
isolates quarantined devices at sites without a segmentation policy (``inet iotwarden_quarantine``), and
a dry-run enforcer that only records (:mod:`iotwarden.respond.policy_enforcer`: the policy-backed one).

The table holds three sets (MAC, IPv4, IPv6 addresses of quarantined devices) and two base chains
(``forward``: traffic routed through this host; ``input``: traffic to it). Traffic from or to a set
member is dropped unless an ``allow`` exception (say DHCP, or DNS to the site resolver) accepts it
first. Quarantining adds a device's addresses to the sets; releasing deletes them, so each device is
released on its own and the rules never change while devices come and go (nftables wiki "Sets").
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Protocol

from iotwarden.errors import ConfigError, PolicyError
from iotwarden.policy.nftables import isolation_rules

TABLE = "iotwarden_quarantine"  # in the inet family: one table for IPv4 and IPv6 (nft(8) "ADDRESS FAMILIES")
PRIORITY = -10  # before the default filter priority 0, so the segmentation policy's accepts cannot win
NFT_TIMEOUT_S = 20.0  # one nft invocation
MAX_ALLOWS = 64  # exceptions a quarantine may carry
MAX_ADDRESSES = 64  # addresses of one device put in the sets (a device with more is refused)
MAX_RECORDED = 10_000  # rulesets a dry-run enforcer keeps (oldest dropped)
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_PROTOS = ("tcp", "udp")


@dataclass(frozen=True, slots=True)
class QuarantineTarget:
    """The addresses of one device to isolate."""

    key: str
    mac: str | None = None
    ips: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.mac is not None and not _MAC.match(self.mac):
            raise PolicyError(f"quarantine {self.key}: not a MAC address: {self.mac!r}")
        for ip in self.ips:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                raise PolicyError(f"quarantine {self.key}: not an IP address: {ip!r}") from None
        if self.mac is None and not self.ips:
            raise PolicyError(f"quarantine {self.key}: the device has no known MAC or IP address")
        if len(self.ips) > MAX_ADDRESSES:
            raise PolicyError(f"quarantine {self.key}: more than {MAX_ADDRESSES} addresses")

    def elements(self) -> dict[str, list[str]]:
        """Set name -> elements of this device."""
        v4 = [ip for ip in self.ips if ipaddress.ip_address(ip).version == 4]
        v6 = [ip for ip in self.ips if ipaddress.ip_address(ip).version == 6]
        return {k: v for k, v in (("q_mac", [self.mac] if self.mac else []), ("q_ip4", v4), ("q_ip6", v6)) if v}

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "mac": self.mac, "ips": list(self.ips)}


@dataclass(frozen=True, slots=True)
class Allow:
    """An exception a quarantined device keeps: traffic to and from ``cidr`` (on ``proto``/``port``)."""

    cidr: str
    proto: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> Allow:
        """``CIDR``, ``CIDR udp/53`` or ``any udp/67`` (``any``: every address of both families)."""
        words = text.split()
        if not 1 <= len(words) <= 2:
            raise ConfigError(f"quarantine allow {text!r}: CIDR or 'any', then optionally tcp/PORT or udp/PORT")
        net, proto, port = words[0], None, None
        if len(words) == 2:
            proto, _, port_text = words[1].partition("/")
            if proto not in _PROTOS or not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise ConfigError(f"quarantine allow {text!r}: service must be tcp/PORT or udp/PORT")
            port = int(port_text)
        if net != "any":
            try:
                net = str(ipaddress.ip_network(net, strict=False))
            except ValueError:
                raise ConfigError(f"quarantine allow {text!r}: not a network: {net!r}") from None
        return cls(net, proto, port)

    def rules(self) -> list[str]:
        """Accept rules for both directions of this exception (nft(8) "PAYLOAD EXPRESSION")."""
        families = ["ip", "ip6"] if self.cidr == "any" else \
            ["ip" if ipaddress.ip_network(self.cidr, strict=False).version == 4 else "ip6"]
        out = []
        for fam in families:
            sset = "@q_ip4" if fam == "ip" else "@q_ip6"
            peer_out = "" if self.cidr == "any" else f" {fam} daddr {self.cidr}"
            peer_in = "" if self.cidr == "any" else f" {fam} saddr {self.cidr}"
            svc_out = f" {self.proto} dport {self.port}" if self.proto else ""
            svc_in = f" {self.proto} sport {self.port}" if self.proto else ""
            out.append(f"{fam} saddr {sset}{peer_out}{svc_out} accept")
            out.append(f"{fam} daddr {sset}{peer_in}{svc_in} accept")
        if self.cidr == "any":  # a device may speak before it has an address (DHCP, RFC 2131 §4.1: 0.0.0.0)
            svc = f" {self.proto} dport {self.port}" if self.proto else ""
            out.append(f"ether saddr @q_mac{svc} accept")
        return out


def render_table(allows: tuple[Allow, ...] = ()) -> str:
    """The quarantine table as an ``nft -f`` script, replacing any previous copy of the rules atomically
    but keeping the set members (the script runs as one transaction)."""
    if len(allows) > MAX_ALLOWS:
        raise ConfigError(f"quarantine: at most {MAX_ALLOWS} allow exceptions")
    accepts = [r for a in allows for r in a.rules()]
    drops = isolation_rules("q_ip4", "q_ip6", "q_mac", "quarantine", outbound=True)
    lines = [f"add table inet {TABLE}",
             f"add set inet {TABLE} q_mac {{ type ether_addr; }}",
             f"add set inet {TABLE} q_ip4 {{ type ipv4_addr; }}",
             f"add set inet {TABLE} q_ip6 {{ type ipv6_addr; }}"]
    for chain, hook in (("forward", "forward"), ("input", "input")):
        base = f"type filter hook {hook} priority {PRIORITY}; policy accept;"
        lines.append(f"add chain inet {TABLE} {chain} {{ {base} }}")
        lines.append(f"flush chain inet {TABLE} {chain}")
        lines.extend(f"add rule inet {TABLE} {chain} {rule}" for rule in [*accepts, *drops])
    return "\n".join(lines) + "\n"


def render_elements(target: QuarantineTarget, verb: str) -> str:
    """``add`` or ``delete`` the target's addresses in the quarantine sets."""
    return "".join(f"{verb} element inet {TABLE} {name} {{ {', '.join(items)} }}\n"
                   for name, items in target.elements().items())


class QuarantineEnforcer(Protocol):
    """Puts a device in quarantine and takes it out; both return the nft script applied (or that would be)."""

    def apply(self, target: QuarantineTarget) -> str: ...

    def release(self, target: QuarantineTarget) -> str: ...


@dataclass
class DryRunEnforcer:
    """Renders what would be applied and records it; changes nothing on the host."""

    allows: tuple[Allow, ...] = ()
    applied: list[str] = field(default_factory=list)  # every script, oldest first (at most MAX_RECORDED)

    def _record(self, script: str) -> str:
        self.applied.append(script)
        del self.applied[:-MAX_RECORDED]
        return script

    def apply(self, target: QuarantineTarget) -> str:
        return self._record(render_table(self.allows) + render_elements(target, "add"))

    def release(self, target: QuarantineTarget) -> str:
        return self._record(render_elements(target, "delete"))


@dataclass
class NftablesEnforcer:
    """Applies the quarantine with ``nft -f -`` on this host, or inside network namespace ``netns``."""

    allows: tuple[Allow, ...] = ()
    netns: str | None = None

    def _nft(self, script: str, *, missing_ok: bool = False) -> None:
        nft = shutil.which("nft")
        if nft is None:
            raise PolicyError("quarantine needs the nft command (Debian package nftables)")
        argv = [nft, "-f", "-"]
        if self.netns is not None:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        try:
            done = subprocess.run(argv, input=script, capture_output=True, text=True, timeout=NFT_TIMEOUT_S,  # noqa: S603
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PolicyError(f"nft failed: {exc}") from None
        if done.returncode != 0 and not (missing_ok and "No such file or directory" in done.stderr):
            first = (done.stderr.strip().splitlines() or ["no message"])[0]
            raise PolicyError(f"nft refused the quarantine ruleset: {first}")

    def apply(self, target: QuarantineTarget) -> str:
        script = render_table(self.allows) + render_elements(target, "add")
        self._nft(script)
        return script

    def release(self, target: QuarantineTarget) -> str:
        # one element at a time: an address already gone (released by hand) must not keep the others in
        script = render_elements(target, "delete")
        for name, items in target.elements().items():
            for item in items:
                self._nft(f"delete element inet {TABLE} {name} {{ {item} }}\n", missing_ok=True)
        return script
