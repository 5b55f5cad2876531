"""The approved inventory (shadow IoT): its CSV format (docs/approved-inventory.md), matching a device
against it, and the ``inventory.shadow_device`` finding for devices it does not list.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from iotwarden.errors import ConfigError
from iotwarden.kb.taxonomy import Taxonomy
from iotwarden.model import Device
from iotwarden.model.finding import Finding, Severity

COLUMNS = ("mac", "ip", "hostname", "vendor", "model", "device_type", "owner", "location", "notes")
IDENTIFYING = ("mac", "ip", "hostname")  # at least one per row
MAX_ROWS = 100_000  # rows of one approved-inventory file
MAX_FIELD = {"mac": 17, "ip": 64, "hostname": 255, "vendor": 128, "model": 128, "device_type": 128,
             "owner": 200, "location": 200, "notes": 2000}  # the store's column sizes
INTERFACES_ATTRIBUTE = "link.mac"  # the builder's record of a device's MACs (inventory/builder.py)

CHECK_ID = "inventory.shadow_device"
# Categories whose unapproved presence is worse than an unknown gadget: an OT or medical device
# nobody accounted for is a safety matter (NIST SP 800-82r3 §5.2.1 asset inventory; FDA 2023
# premarket cybersecurity guidance §V.A: the operator must know every connected medical device).
HIGH_CATEGORIES = frozenset({"ot", "medical"})
REFERENCES = [
    "NISTIR 8259A §3.1 (device identification) / NIST SP 800-213 §3.1 (IoT device inventory)",
    "CIS Controls v8 1.1 (detailed enterprise asset inventory), 1.2 (address unauthorized assets)",
    "CWE-1059 (insufficient technical documentation)",
]

_MAC = re.compile(r"^[0-9a-f]{12}$")


@dataclass(frozen=True, slots=True)
class ApprovedEntry:
    """One approved device; ``ip`` may be a network (``10.0.5.0/24``) approving every address in it."""

    mac: str | None = None
    ip: str | None = None
    hostname: str | None = None
    vendor: str | None = None
    model: str | None = None
    device_type: str | None = None
    owner: str | None = None
    location: str | None = None
    notes: str = ""


def normal_mac(text: str) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` from the usual spellings (colons, dashes, Cisco dots, bare hex), else None."""
    digits = re.sub(r"[:\-.\s]", "", text.strip().lower())
    if not _MAC.match(digits):
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def normal_hostname(text: str) -> str:
    return text.strip().rstrip(".").lower()


def parse_csv(text: str, taxonomy: Taxonomy | None = None) -> list[ApprovedEntry]:
    """Rows of an approved-inventory CSV; ConfigError names the line and the problem of a bad row."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise ConfigError("approved inventory: empty file (expected a header line)") from None
    except csv.Error as exc:
        raise ConfigError(f"approved inventory line 1: {exc}") from None
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise ConfigError(f"approved inventory line 1: unknown column(s) {', '.join(unknown)}; "
                          f"columns are {', '.join(COLUMNS)}")
    if not set(IDENTIFYING) & set(names):
        raise ConfigError(f"approved inventory line 1: needs at least one of the columns {', '.join(IDENTIFYING)}")
    taxonomy = taxonomy or Taxonomy.load()
    out: list[ApprovedEntry] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank lines are allowed
            if len(out) >= MAX_ROWS:
                raise ConfigError(f"approved inventory line {reader.line_num}: more than {MAX_ROWS} rows")
            out.append(_entry(reader.line_num, names, row, taxonomy))
    except csv.Error as exc:
        raise ConfigError(f"approved inventory line {reader.line_num}: {exc}") from None
    return out


def _entry(line: int, names: list[str], row: list[str], taxonomy: Taxonomy) -> ApprovedEntry:
    where = f"approved inventory line {line}"
    if len(row) > len(names):
        raise ConfigError(f"{where}: {len(row)} fields, the header has {len(names)}")
    values = {name: cell.strip() for name, cell in zip(names, row, strict=False) if cell.strip()}
    for name, value in values.items():
        if len(value) > MAX_FIELD[name]:
            raise ConfigError(f"{where}: {name} longer than {MAX_FIELD[name]} characters")
    if not any(values.get(n) for n in IDENTIFYING):
        raise ConfigError(f"{where}: needs at least one of mac, ip, hostname")
    if "mac" in values:
        mac = normal_mac(values["mac"])
        if mac is None:
            raise ConfigError(f"{where}: mac {values['mac']!r} is not a MAC address (aa:bb:cc:dd:ee:ff)")
        values["mac"] = mac
    if "ip" in values:
        try:
            net = ipaddress.ip_network(values["ip"], strict=False)
        except ValueError:
            raise ConfigError(f"{where}: ip {values['ip']!r} is not an IP address or network") from None
        values["ip"] = str(net.network_address) if net.num_addresses == 1 else str(net)
    if "hostname" in values:
        values["hostname"] = normal_hostname(values["hostname"])
    if "device_type" in values:
        tid = taxonomy.resolve(values["device_type"])
        if tid is None:
            raise ConfigError(f"{where}: device_type {values['device_type']!r} is not in the taxonomy "
                              "(ids and aliases: kb/data/taxonomy.yaml)")
        values["device_type"] = tid
    return ApprovedEntry(**values)


def _hostnames(device: Device) -> set[str]:
    names = {normal_hostname(h) for h in device.hostnames}
    return names | {n.split(".", 1)[0] for n in names}  # "axis-cam.local" is approved as "axis-cam"


def approved_entry(device: Device, approved: Iterable[ApprovedEntry]) -> ApprovedEntry | None:
    """The first entry naming this device: one of its MACs, one of its addresses, or one of its names."""
    macs = {device.mac} if device.mac else set()
    macs |= device.attributes.get(INTERFACES_ATTRIBUTE, set())
    names = _hostnames(device)
    addrs = []
    for ip in device.ips:
        try:
            addrs.append(ipaddress.ip_address(ip))
        except ValueError:
            continue
    for entry in approved:
        if entry.mac is not None and entry.mac in macs:
            return entry
        if entry.hostname is not None and entry.hostname in names:
            return entry
        if entry.ip is not None and addrs:
            net = ipaddress.ip_network(entry.ip, strict=False)
            if any(a in net for a in addrs):
                return entry
    return None


def severity_for(device: Device) -> Severity:
    return "high" if (device.category or "") in HIGH_CATEGORIES else "medium"


def shadow_finding(device: Device) -> Finding:
    """The finding for a device the approved inventory does not list."""
    facts = {
        "mac": device.mac, "ips": sorted(device.ips), "hostnames": sorted(device.hostnames),
        "vendor": device.vendor, "device_type": device.device_type, "category": device.category,
    }
    what = " ".join(v for v in (device.vendor, device.device_type) if v) or "device"
    return Finding(
        id=CHECK_ID, title=f"Unapproved {what} on the network (not in the approved inventory)",
        severity=severity_for(device), subject=device.key,
        evidence={k: v for k, v in facts.items() if v not in (None, [])},
        remediation=("Identify the owner of the device. If it belongs, add it to the approved inventory "
                     "(iotwarden inventory import-approved); if not, isolate it (quarantine VLAN) and remove it."),
        references=list(REFERENCES), first_seen=device.first_seen, last_seen=device.last_seen,
    )


def shadow_findings(devices: Iterable[Device], approved: list[ApprovedEntry]) -> list[Finding]:
    """One ``inventory.shadow_device`` finding per device not in ``approved``."""
    return [shadow_finding(d) for d in devices if approved_entry(d, approved) is None]
