"""Satori XML fingerprint files (``dhcp.xml``, ``tcp.xml``, ``ssh.xml``, ``web.xml``, ...) -> rules."""

# Each ``<fingerprint name= os_name= os_vendor= device_type= device_vendor=>`` holds ``<test>``
# elements with ``matchtype`` ``exact`` or ``partial`` (a substring, or a ``*`` wildcard pattern
# for TCP signatures) and ``weight``. Tests on fields no dissector reports (NTP, SMB, SIP, ICMP,
# DHCP IP TTL) are counted as skipped.

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # DOCTYPE/ENTITY declarations are refused before parsing
from typing import Any

from iotwarden.errors import ParseError
from iotwarden.kb.importers.common import ImportResult, glob_regex, slug
from iotwarden.kb.taxonomy import Taxonomy

MAX_XML_BYTES = 64 * 1024 * 1024  # larger than any Satori file (webuseragent.xml is ~0.7 MB)

# XML test attribute -> (our attribute(s), match type for "exact", for "partial")
TESTS: dict[str, tuple[str | list[str], str, str]] = {
    "dhcpoption55": ("dhcp.param_req_list", "exact", "prefix"),
    "dhcpoptions": ("dhcp.options", "exact", "prefix"),
    "dhcpvendorcode": ("dhcp.vendor_class", "exact", "contains"),
    "dhcpv6optionrequest": ("dhcpv6.oro", "exact", "prefix"),
    "dhcpv6vendorcode": ("dhcpv6.vendor_class", "exact", "contains"),
    "ssh": ("ssh.banner", "exact", "contains"),
    "webserver": ("http.server", "exact", "contains"),
    "webuseragent": ("http.user_agent", "exact", "contains"),
    "dns": ("dns.qname", "exact", "regex"),
    # Satori's SIP module reads a message's User-Agent and Server alike (dissect/sip.py keeps both)
    "sipserver": (["sip.user_agent", "sip.server"], "exact", "contains"),
    # SMB1 SESSION_SETUP_ANDX NativeOS / NativeLanMan (dissect/smb.py)
    "smbnativename": ("smb.native_os", "exact", "contains"),
    "smbnativelanman": ("smb.native_lanman", "exact", "contains"),
}
SSL_TESTS = {"ja3": "tls.ja3", "ja3s": "tls.ja3s", "ja4": "tls.ja4"}


def convert(text: str, taxonomy: Taxonomy | None = None) -> ImportResult:
    """Rules from one Satori XML file; ParseError when it is not Satori XML."""
    if len(text) > MAX_XML_BYTES:
        raise ParseError(f"Satori file larger than {MAX_XML_BYTES} bytes (MAX_XML_BYTES)")
    if re.search(r"<!(DOCTYPE|ENTITY)", text[:4096] + text[-4096:], re.IGNORECASE) or "<!ENTITY" in text:
        raise ParseError("Satori file declares a DOCTYPE/ENTITY: refused (entity expansion)")
    try:
        root = ET.fromstring(text.lstrip("\ufeff"))  # noqa: S314 - no DTD, checked above
    except ET.ParseError as exc:
        raise ParseError(f"not well-formed XML: {exc}") from exc
    fingerprints = root.find("fingerprints")
    if fingerprints is None:
        raise ParseError(f"<{root.tag}> has no <fingerprints>: not a Satori fingerprint file")
    kind = root.tag.lower()
    result = ImportResult("satori")
    tax = taxonomy or Taxonomy.load()
    for n, fp in enumerate(fingerprints.iter("fingerprint"), start=1):
        conclusions = _conclusions(fp.attrib, tax)
        tests = list(fp.iter("test"))
        name = fp.get("name", "").strip()
        scale = 1.0
        if not conclusions and name:
            # only a name ("Amazon Kindle", "Cisco Router"): keep it as the model, at half weight
            conclusions, scale = {"model": name}, 0.5
        if not conclusions:
            result.skipped["fingerprint without a name or conclusion"] += len(tests) or 1
            continue
        for k, test in enumerate(tests, start=1):
            rule = _rule(test.attrib, kind, result)
            if rule is None:
                continue
            rule.update({
                "id": f"satori.{kind}.{n}.{k}.{slug(name, 30)}",
                "conclusions": dict(conclusions),
                "weight": round(_weight(test.get("weight")) * scale, 2),
                "reference": f"Satori {kind} fingerprint '{name}' (xnih/satori, GPL-2.0)",
            })
            result.add(rule)
    return result


def _conclusions(attrib: dict[str, str], tax: Taxonomy) -> dict[str, str]:
    out: dict[str, str] = {}
    os_name = attrib.get("os_name", "").strip()
    if os_name:
        out["os"] = os_name
    vendor = attrib.get("device_vendor", "").strip() or attrib.get("os_vendor", "").strip()
    if vendor:
        out["vendor"] = vendor
    device_type = tax.resolve(attrib.get("device_type", "").strip()) if attrib.get("device_type", "").strip() else None
    if device_type:
        out["device_type"] = device_type
    return out


def _rule(test: dict[str, str], kind: str, result: ImportResult) -> dict[str, Any] | None:
    partial = test.get("matchtype", "exact").strip().lower() == "partial"
    if kind == "ssl":
        attribute = SSL_TESTS.get(test.get("testtype", "").strip().lower())
        value = test.get("sslsig", "").strip()
        if attribute is None or not value or partial:
            result.skipped["ssl test type"] += 1
            return None
        return {"match": {"attribute": attribute, "exact": value}}
    if kind == "tcp":
        flag = test.get("tcpflag", "").strip().upper()
        value = test.get("tcpsig", "").strip()
        attribute = {"S": "tcp.satori_syn_signature", "SA": "tcp.satori_synack_signature"}.get(flag)
        if attribute is None or not value:
            result.skipped["tcp flag other than S/SA"] += 1
            return None
        if partial or "*" in value:
            return {"match": {"attribute": attribute, "regex": glob_regex(value)}}
        return {"match": {"attribute": attribute, "exact": value}}
    for key, (attributes, exact_how, partial_how) in TESTS.items():
        value = test.get(key, "").strip()
        if not value:
            continue
        how = partial_how if partial else exact_how
        if how == "regex":
            return {"match": {"attribute": attributes, "regex": re.escape(value)}}
        if isinstance(attributes, str) and attributes.startswith(("dhcp.param", "dhcp.options", "dhcpv6.oro")):
            numbers = [int(x) for x in re.findall(r"\d+", value)]
            if not numbers:
                result.skipped["empty option list"] += 1
                return None
            return {"match": {"attribute": attributes, how: ",".join(map(str, numbers))}}
        return {"match": {"attribute": attributes, how: value}}
    result.skipped[f"{kind} test on an unsupported field"] += 1
    return None


def _weight(text: str | None) -> float:
    try:
        return round(min(max(float(text or 5), 0.0), 10.0) / 10.0, 2)
    except ValueError:
        return 0.5
