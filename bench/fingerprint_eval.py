"""A held-out measurement on third-party labelled fingerprints (issue #3): each labelled value of Satori's XML files,
Fingerbank's 2014 dhcp_fingerprints.conf, FoxIO's ja4plus-mapping.csv and PRADS' dhcp.fp (under
IOTWARDEN_SHARED_DATA, else ../shared/data: fingerprints/) is turned into the Observation our dissector would make of a
device sending it, fed to the inventory and classified with the shipped knowledge base alone, then compared with the
entry's label.

    python bench/fingerprint_eval.py                  # the table per source and channel
    python bench/fingerprint_eval.py --show-wrong     # and every wrong vendor or type, with the rules that said it
    python bench/fingerprint_eval.py --json out.json  # also the per-entry rows

The files are read here, never through kb/importers: their rules are not shipped (GPL-2.0, ODbL), so the measure is
independent of the data it reads. Each test of a Satori fingerprint is one device (its tests are alternatives: other
firmware, other message types); a DHCP option list Satori matches as a prefix ("partial") is no message a device sends
and is left out, as is a test of a DHCP server's message (Offer, ACK, NAK: RFC 2131 §3.1, what a router's DHCP server
sends, no client's request of the device labelled), while a partial text (a User-Agent, a SIP or SSH token, the part of
the header that names the product) is kept and counted apart, as channel '<channel> (part)'. A label names a kind only
through the explicit tables of bench/fingerprint_labels.py (KIND_LABELS, KIND_WORDS, FINGERBANK_CLASSES); a label they
call ambiguous is counted as excluded, one naming no device (an OS, an application) as no kind. A vendor is labelled by
the entry's device_vendor, else by the leading words of its name when they are a name of the IEEE registry
(fingerprints/ieee_oui/oui.csv, named as the knowledge base names vendors; never the rules under test). Right: the same
vendor, a brand and its owner (vendor_aliases parents) or one name the other's leading words; the labelled kind or a
finer one; "coarse" is an ancestor of it; unknown is never right.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import xml.etree.ElementTree as ET  # the shared files are the projects' own releases, no DTD (checked)
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fingerprint_labels import AMBIGUOUS_NAMES, FINGERBANK_CLASSES, KIND_LABELS, KIND_WORDS, NOT_VENDORS, VENDOR_TYPOS
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.inventory.classifier import Classifier
from iotwarden.kb.importers.fingerbank import parse as parse_fingerbank  # the file's syntax only, no conversion
from iotwarden.model import Observation
from sweep_inputs import SHARED_DATA

FINGERPRINTS = SHARED_DATA / "fingerprints"
MAC = "02:00:5e:10:00:01"  # locally administered: the device shows no registry vendor, only the labelled value
MAX_TEXT = 512  # characters of a value kept (longer ones are truncated as no dissector keeps them whole)

# Satori test attribute -> (channel, proto, kind, field); a list field holds option codes
SATORI_TESTS: dict[str, tuple[str, str, str, str]] = {
    "dhcpoption55": ("dhcp.param_req_list", "dhcp", "request", "param_req_list"),
    "dhcpoptions": ("dhcp.options", "dhcp", "request", "options"),
    "dhcpvendorcode": ("dhcp.vendor_class", "dhcp", "request", "vendor_class"),
    "dhcpv6optionrequest": ("dhcpv6.oro", "dhcpv6", "solicit", "oro"),
    "dhcpv6vendorcode": ("dhcpv6.vendor_class", "dhcpv6", "solicit", "vendor_class"),
    "sipserver": ("sip.user_agent", "sip", "request", "user_agent"),
    "webserver": ("http.server", "http", "response", "server"),
    "webuseragent": ("http.user_agent", "http", "request", "user_agent"),
    "ssh": ("ssh.banner", "ssh", "banner", "banner"),
    "smbnativename": ("smb.native_os", "smb", "session_setup_request", "native_os"),
    "smbnativelanman": ("smb.native_lanman", "smb", "session_setup_request", "native_lanman"),
    "dns": ("dns.qname", "dns", "query", "qname"),
}
PARTIAL = " (part)"  # channel suffix of Satori's partial text values
LIST_FIELDS = frozenset({"param_req_list", "options", "oro"})
SERVER_DHCP_TYPES = frozenset({"offer", "ack", "nak"})  # Satori dhcptype of a server's message (RFC 2131 §3.1)
SERVER_DHCP_CODES = frozenset({"2", "5", "6"})  # PRADS' option 53 of those (RFC 2132 §9.6: DHCPOFFER, DHCPACK, DHCPNAK)
SATORI_FILES = ("dhcp.xml", "dhcpv6.xml", "sip.xml", "web.xml", "webuseragent.xml", "ssh.xml", "smb.xml", "dns.xml")


@dataclass(frozen=True)
class Entry:
    """One labelled value: where it is, the message a device sending it makes, what the label says."""

    source: str
    channel: str
    label: str  # the entry's name (and its kind text)
    proto: str
    kind: str
    fields: dict[str, Any]
    vendor: str | None  # the labelled vendor, as written
    kind_text: str  # the label's kind, as written ('' when the entry gives none)


@dataclass
class Outcome:
    source: str
    channel: str
    label: str
    value: str
    expected_types: list[str] | None  # None: no kind; [] excluded (ambiguous)
    expected_vendor: str | None
    vendor: str | None = None
    device_type: str | None = None
    vendor_outcome: str = "n/a"
    type_outcome: str = "n/a"
    evidence: list[str] = field(default_factory=list)


def _values(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", text)]


def _field(name: str, value: str) -> Any:
    return _values(value) if name in LIST_FIELDS else value[:MAX_TEXT]


def _xml(path: Path) -> ET.Element:
    text = path.read_text(encoding="utf-8-sig")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ValueError(f"{path}: declares a DOCTYPE/ENTITY")
    return ET.fromstring(text)  # noqa: S314 - no DTD, checked above


def satori(root: Path) -> Iterator[Entry]:
    for name in SATORI_FILES:
        path = root / "satori" / name
        if not path.is_file():
            continue
        for fp in _xml(path).iter("fingerprint"):
            label, kind_text = fp.get("name", "").strip(), fp.get("device_type", "").strip()
            vendor = fp.get("device_vendor", "").strip() or None
            for test in fp.iter("test"):
                partial = test.get("matchtype", "exact").strip().lower() == "partial"
                for attr, (channel, proto, kind, fname) in SATORI_TESTS.items():
                    value = test.get(attr, "").strip()
                    if not value or (partial and fname in LIST_FIELDS):
                        continue
                    dhcptype = test.get("dhcptype", "Any").strip().lower()
                    if proto == "dhcp" and dhcptype in SERVER_DHCP_TYPES:
                        continue  # the labelled device's DHCP server answering, not its client asking
                    if proto == "dhcp" and dhcptype in {"discover", "request", "inform"}:
                        kind = dhcptype
                    # a fragment a product's header holds (a token, no version): counted apart from whole values
                    yield Entry(f"satori/{name}", f"{channel}{PARTIAL if partial else ''}", label, proto, kind,
                                {fname: _field(fname, value)}, vendor, kind_text)


def fingerbank(root: Path) -> Iterator[Entry]:
    path = root / "fingerbank_dhcp_2014" / "dhcp_fingerprints.conf"
    if not path.is_file():
        return
    data = parse_fingerbank(path.read_text(encoding="utf-8", errors="replace"))
    classes = []
    for c in data["class"].values():
        for part in str(c.get("members", "")).split(","):
            lo, _, hi = part.strip().partition("-")
            if lo.isdigit():
                classes.append((int(lo), int(hi) if hi.isdigit() else int(lo), str(c.get("description", ""))))
    for os_id, fields in data["os"].items():
        inside = [c for c in classes if c[0] <= int(os_id) <= c[1]]
        klass = max(inside, key=lambda c: c[1] - c[0])[2] if inside else ""  # the widest range (importer's rule)
        label = str(fields.get("description", "")).strip()
        for fp in fields.get("fingerprints", []):
            yield Entry("fingerbank_2014", "dhcp.param_req_list", label, "dhcp", "request",
                        {"param_req_list": _values(fp)}, None, f"class:{klass}")
        for vc in fields.get("vendor_id", []):
            yield Entry("fingerbank_2014", "dhcp.vendor_class", label, "dhcp", "request",
                        {"vendor_class": vc[:MAX_TEXT]}, None, f"class:{klass}")


def ja4(root: Path) -> Iterator[Entry]:
    path = root / "ja4" / "ja4plus-mapping.csv"
    if not path.is_file():
        return
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            value = (row.get("ja4") or "").strip()
            if value:
                label = " ".join(x for x in ((row.get(k) or "").strip() for k in ("Device", "Application", "Library",
                                                                                    "OS")) if x)
                yield Entry("ja4plus-mapping", "tls.ja4", label, "tls", "client_hello", {"ja4": value}, None,
                            (row.get("Device") or "").strip())


def prads(root: Path) -> Iterator[Entry]:
    """PRADS dhcp.fp: message type:TTL:options:option 55:vendor class:OS:description, one whole message a line."""
    path = root / "prads" / "dhcp.fp"
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split(":")
        if line.startswith("#") or len(parts) < 7 or parts[0].strip() in SERVER_DHCP_CODES:
            continue  # a comment, a short line, or a DHCP server's message (no request of the device labelled)
        fields: dict[str, Any] = {"options": _values(parts[2])}
        if parts[3] != ".":
            fields["param_req_list"] = _values(parts[3])
        if parts[4] != ".":
            fields["vendor_class"] = parts[4]
        yield Entry("prads", "dhcp.message", ":".join(parts[5:]), "dhcp", "request", fields, None, "")


def expected_kinds(entry: Entry) -> frozenset[str] | None:
    """The kinds the label names: None when it names none, an empty set when it is ambiguous (excluded)."""
    if AMBIGUOUS_NAMES.search(entry.label):
        return frozenset()
    if entry.kind_text.startswith("class:"):
        from_words = _words(entry.label)
        if from_words is not None:
            return from_words
        klass = entry.kind_text.removeprefix("class:").strip().lower()
        if klass in FINGERBANK_CLASSES:
            return FINGERBANK_CLASSES[klass] or frozenset()
        return None
    if entry.kind_text:
        key = entry.kind_text.lower()
        if key in KIND_LABELS:
            return KIND_LABELS[key] or frozenset()
        return _words(entry.kind_text)
    return _words(entry.label)


def _words(text: str) -> frozenset[str] | None:
    low = text.lower()
    for pattern, kinds in KIND_WORDS:
        if re.search(pattern, low):
            return kinds or frozenset()
    return None


class Evaluator:
    """Classifies each entry's device with the shipped knowledge base and scores it against its label."""

    def __init__(self, root: Path = FINGERPRINTS) -> None:
        self.classifier = Classifier()
        self.kb = self.classifier.kb
        self.names = self.kb.vendor_names
        # the vendors a name's leading words may be: the IEEE registry's (the shared copy beside the fingerprints),
        # named as the knowledge base names them, never read from its rules (a rule under test would label)
        self.known: set[str] = set()
        registry = root / "ieee_oui" / "oui.csv"
        if registry.is_file():
            with registry.open(encoding="utf-8", newline="") as fh:
                self.known = {self.names.canonical(row[2]) for row in csv.reader(fh) if len(row) > 2 and row[2]}

    def labelled_vendor(self, entry: Entry) -> str | None:
        if entry.vendor and entry.vendor.casefold() in NOT_VENDORS:
            return None
        if entry.vendor:
            return self.names.canonical(VENDOR_TYPOS.get(entry.vendor.casefold(), entry.vendor))
        words = re.split(r"[\s/]+", entry.label)
        for n in (3, 2, 1):  # the longest leading words that are a vendor the knowledge base names
            if len(words) >= n and (name := self.names.canonical(" ".join(words[:n]))) in self.known:
                return name
        return None

    def classify(self, entry: Entry) -> dict[str, Any]:
        ctx, inventory = Context(), InventoryBuilder()
        fields = dict(entry.fields)
        if entry.proto == "dhcp":
            fields["client_mac"] = MAC
        elif entry.proto == "sip":
            fields["sender"] = {"user_agent": fields.get("user_agent"), "server": None}
        elif entry.proto == "ssh":
            fields["role"] = "server"
        inventory.on_observation(ctx, Observation(ts=0.0, proto=entry.proto, kind=entry.kind, src_mac=MAC,
                                                  src_ip="10.0.0.9", dst_mac="02:00:5e:10:00:fe", dst_ip="10.0.0.1",
                                                  fields=fields))
        return self.classifier.classify(ctx.devices[f"mac:{MAC}"])

    def score(self, entry: Entry) -> Outcome:
        kinds = expected_kinds(entry)
        vendor = self.labelled_vendor(entry)
        value = json.dumps(next(iter(entry.fields.values()))) if len(entry.fields) == 1 else json.dumps(entry.fields)
        out = Outcome(entry.source, entry.channel, entry.label, value[:160],
                      sorted(kinds) if kinds is not None else None, vendor)
        found = self.classify(entry)
        out.vendor = found["vendor"].value if "vendor" in found else None
        out.device_type = found["device_type"].value if "device_type" in found else None
        for prop in ("vendor", "device_type"):
            if prop in found:
                out.evidence += [f"{prop}:{e['rule_id']}" for e in found[prop].evidence if e.get("agrees", True)][:3]
        if vendor is not None:
            out.vendor_outcome = ("unknown" if out.vendor is None else
                                  "right" if self.same_vendor(out.vendor, vendor) else "wrong")
        if kinds:
            out.type_outcome = self._type(out.device_type, kinds)
        return out

    def same_vendor(self, found: str, label: str) -> bool:
        """One vendor: the same name in any case, a brand and its owner (vendor_aliases parents), or one name the
        other's leading words ('Nortel' and 'Nortel Networks', as a label and the registry spell one maker)."""
        a, b = found.casefold().split(), label.casefold().split()
        return self.names.related(found, label) or a[: len(b)] == b or b[: len(a)] == a

    def _type(self, found: str | None, kinds: frozenset[str]) -> str:
        taxonomy = self.kb.taxonomy
        if found is None or found == "iot_module":
            return "unknown"
        if kinds & {found, *taxonomy.ancestors(found)}:
            return "right"
        if any(found in taxonomy.ancestors(k) for k in kinds):
            return "coarse"
        return "wrong"


def entries(root: Path) -> list[Entry]:
    """Every labelled value once: a file listing the same value twice for one label (a DHCP vendor class for
    Discover and Request) makes one device."""
    seen: set[str] = set()
    out = []
    for e in (*satori(root), *fingerbank(root), *ja4(root), *prads(root)):
        key = json.dumps([e.source, e.channel, e.label, e.fields], sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def tally(outcomes: list[Outcome]) -> dict[tuple[str, str], Counter[str]]:
    table: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        for key in ((o.source, o.channel), (o.source, "*"), ("*", "*")):
            c = table[key]
            c["entries"] += 1
            if o.expected_types is None:
                c["no_kind"] += 1
                continue
            if not o.expected_types:
                c["excluded"] += 1
                continue
            c["kind"] += 1
            c[f"type_{o.type_outcome}"] += 1
            if o.expected_vendor is not None:
                c["vendor_labelled"] += 1
                c[f"vendor_{o.vendor_outcome}"] += 1
    return table


def render(table: dict[tuple[str, str], Counter[str]]) -> str:
    head = (f"{'source':22} {'channel':20} {'entries':>7} {'nokind':>6} {'excl':>5} {'kind':>5} | {'vlab':>5} "
            f"{'v.right':>7} {'v.wrong':>7} {'v.unkn':>6} | {'t.right':>7} {'coarse':>6} {'t.wrong':>7} {'t.unkn':>6}")
    lines = [head, "-" * len(head)]
    for (source, channel), c in sorted(table.items(), key=lambda kv: (kv[0][0] == "*", kv[0])):
        vl, k = c["vendor_labelled"], c["kind"]
        pv = f"{c['vendor_right'] / vl:.0%}" if vl else "-"
        pt = f"{c['type_right'] / k:.0%}" if k else "-"
        lines.append(f"{source:22} {channel:20} {c['entries']:7} {c['no_kind']:6} {c['excluded']:5} {k:5} | {vl:5} "
                     f"{c['vendor_right']:4} {pv:>3}{c['vendor_wrong']:7} {c['vendor_unknown']:6} | "
                     f"{c['type_right']:4} {pt:>3}{c['type_coarse']:6} {c['type_wrong']:7} {c['type_unknown']:6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=FINGERPRINTS,
                        help="the fingerprints folder (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="write the per-entry rows and the table here")
    parser.add_argument("--show-wrong", action="store_true", help="list every wrong vendor and type with its rules")
    parser.add_argument("--limit", type=int, help="the first N entries only (a quick run)")
    args = parser.parse_args(argv)
    found = entries(args.root)
    if not found:
        print(f"no labelled fingerprint under {args.root}", file=sys.stderr)
        return 2
    evaluator = Evaluator(args.root)
    outcomes = [evaluator.score(e) for e in found[: args.limit]]
    table = tally(outcomes)
    print(render(table))
    if args.show_wrong:
        for o in outcomes:
            if "wrong" in (o.vendor_outcome, o.type_outcome):
                want = "/".join(o.expected_types or [])
                print(f"WRONG {o.source} {o.channel} {o.label!r} {o.value}: vendor {o.vendor} "
                      f"(want {o.expected_vendor}, {o.vendor_outcome}), type {o.device_type} (want {want}, "
                      f"{o.type_outcome}) by {', '.join(o.evidence)}")
    if args.json:
        args.json.write_text(json.dumps({"table": {f"{s}|{c}": dict(v) for (s, c), v in table.items()},
                                         "rows": [asdict(o) for o in outcomes]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
