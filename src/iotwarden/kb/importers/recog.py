"""Rapid7 Recog XML fingerprint files (``xml/*.xml`` of github.com/rapid7/recog, BSD-2-Clause) -> rules."""

# A Recog file is ``<fingerprints matches="http_header.server" protocol=... preference=...>`` holding
# ``<fingerprint pattern="REGEX" flags="REG_ICASE,..." certainty=...>`` with ``<description>``,
# ``<example>`` test strings and ``<param pos="N" name="hw.vendor" value=...>``: pos 0 is a fixed value
# (which may interpolate another param, ``{hw.model}``), pos N the regex's group N
# (lib/recog/fingerprint.rb ``match``). The regex is Ruby's, searched anywhere in the value
# (``Regexp#match``); flags per lib/recog/fingerprint/regexp_factory.rb: REG_ICASE ignores case,
# REG_DOT_NEWLINE / REG_MULTILINE / REG_LINE_ANY_CRLF are Ruby's MULTILINE, Python's DOTALL.
#
# Params become conclusions (only those our rule schema holds; service.*, cpe23, host.* and the like
# are left out): hw.vendor -> vendor; hw.product (or hw.model) -> model; hw.device / os.device ->
# device_type through the taxonomy's aliases; hw.version -> firmware; os.product / os.version -> os /
# os_version. A fingerprint that names a device (os.device other than Recog's "General") but no hw.*
# product is an appliance whose OS is its firmware: os.vendor / os.product / os.version then give
# vendor / model / firmware, as Recog's own SNMP and PJL files use them. Captured params become our
# ``{N}`` regex-group placeholders (kb/schema.py), so the rule extracts model and firmware itself.
#
# Weight: Recog's ``preference`` orders databases against each other (which file wins when several
# match one string); it is no confidence, so every rule gets DEFAULT_WEIGHT, scaled by a
# fingerprint's own ``certainty`` when it has one.

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # DOCTYPE/ENTITY declarations are refused before parsing
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

from iotwarden.errors import ParseError
from iotwarden.kb.importers.common import ImportResult, slug
from iotwarden.kb.schema import MAX_PATTERN_LENGTH
from iotwarden.kb.taxonomy import Taxonomy

MAX_XML_BYTES = 64 * 1024 * 1024  # larger than any Recog file (html_title.xml is ~1.5 MB)
MAX_FILES = 1_000  # Recog's xml/ holds about 60 files
DEFAULT_WEIGHT = 0.6  # a banner regex: good evidence, below a vendor's own structured id (UPnP, mDNS model)

# Recog ``matches`` key -> (our attribute(s), prefix put after a leading ``^`` anchor), with the
# spellings of older Recog versions; a file without ``matches`` (hp_pjl_id.xml) is known by its name
# (:data:`BY_FILE`). What no dissector reports (x509.subject, html_title, smtp, ...) is skipped.
SIP = ["sip.user_agent", "sip.server"]  # a UA names its software in User-Agent and Server alike (sip.yaml)
MATCHES: dict[str, tuple[str | list[str], str]] = {
    "http_header.server": ("http.server", ""),
    "sip_header.user_agent": (SIP, ""),
    "sip_header.server": (SIP, ""),
    "sip.user_agent": (SIP, ""),
    "sip.banner": (SIP, ""),
    "snmp.sys_description": ("snmp.sys_descr", ""),
    # Recog's ssh.banner is the identification string after "SSH-2.0-" (RFC 4253 §4.2); ssh.banner
    # here is the whole line, so a leading anchor is moved past the protocol version
    "ssh.banner": ("ssh.banner", r"SSH-[\d.]+-"),
    "ftp.banner": ("ftp.banner", ""),  # the 220 text without its code, as dissect/ftp.py keeps it
    "telnet.banner": ("telnet.banner", ""),
    "ssdp_header.server": ("ssdp.server", ""),
    "upnp.banner": ("ssdp.server", ""),
    "rtsp_header.server": ("rtsp.server", ""),
    "dhcp_vendor_class": ("dhcp.vendor_class", ""),
    "dhcp.vendor_class": ("dhcp.vendor_class", ""),
    "mdns.device-info.txt": ("mdns.txt", ""),  # key=value strings of the _device-info._tcp TXT record
    "hp.pjl.id": ("pjl.model", ""),  # the INFO ID reply without its quotes (dissect/pjl.py)
    "smb.native_os": (["smb.native_os", "smb.server_native_os"], ""),  # [MS-CIFS] §2.2.4.53, either end
    "smb.native_lm": ("smb.native_lanman", ""),
}
BY_FILE = {
    "http_servers": "http_header.server", "sip_user_agents": "sip_header.user_agent",
    "sip_banners": "sip_header.server", "snmp_sysdescr": "snmp.sys_description", "ssh_banners": "ssh.banner",
    "ftp_banners": "ftp.banner", "telnet_banners": "telnet.banner", "upnp_banners": "ssdp_header.server",
    "rtsp_servers": "rtsp_header.server", "dhcp_vendor_class": "dhcp_vendor_class",
    "mdns_device-info_txt": "mdns.device-info.txt", "hp_pjl_id": "hp.pjl.id", "smb_native_os": "smb.native_os",
    "smb_native_lm": "smb.native_lm",
}
DOTALL_FLAGS = frozenset({"REG_DOT_NEWLINE", "REG_MULTILINE", "REG_LINE_ANY_CRLF"})
KNOWN_FLAGS = DOTALL_FLAGS | {"REG_ICASE"}
# Recog's device vocabulary (identifiers/hw_device.txt, os_device.txt) where the taxonomy's aliases do
# not already know the name; "VoIP" is left out: Recog gives it to phones, ATAs and gateways alike.
DEVICE_NAMES = {
    "wap": "access_point", "multifunction device": "mfp", "sip gateway": "voip_gateway",
    "broadband router": "router", "video conference": "video_conferencing", "light bulb": "smart_bulb",
    "thin client": "thin_client", "wlan repeater": "access_point",
}
_INTERPOLATION = re.compile(r"\{([^\s{}]+)\}")  # lib/recog/fingerprint.rb: v[1].scan(/\{([^\s{}]+)\}/)
_OUR_PLACEHOLDER = re.compile(r"\{(\w+)\}")  # kb/schema.py _PLACEHOLDER
_LEADING_FLAGS = re.compile(r"^(\^|\\A)\(\?([imx]+)\)")


def convert(text: str, name: str = "", taxonomy: Taxonomy | None = None,
            result: ImportResult | None = None) -> ImportResult:
    """Rules from one Recog XML file (``name`` is its file name); ParseError when it is not Recog XML."""
    if len(text) > MAX_XML_BYTES:
        raise ParseError(f"Recog file larger than {MAX_XML_BYTES} bytes (MAX_XML_BYTES)")
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise ParseError("Recog file declares a DOCTYPE/ENTITY: refused (entity expansion)")
    try:
        root = ET.fromstring(text.lstrip("\ufeff"))  # noqa: S314 - no DTD, checked above
    except ET.ParseError as exc:
        raise ParseError(f"not well-formed XML: {exc}") from exc
    if root.tag != "fingerprints":
        raise ParseError(f"<{root.tag}> is not <fingerprints>: not a Recog fingerprint file")
    result = result if result is not None else ImportResult("recog")
    stem = PurePath(name).stem if name else ""
    key = root.get("matches", "").strip() or BY_FILE.get(stem, "")
    target = MATCHES.get(key)
    fingerprints = list(root.iter("fingerprint"))
    if target is None:
        result.skipped[f"matches {key or stem or '?'}: no attribute of ours"] += len(fingerprints)
        return result
    tax = taxonomy or Taxonomy.load()
    label = stem or slug(key)
    for n, fp in enumerate(fingerprints, start=1):
        rule = _rule(fp, target, tax, result)
        if rule is None:
            continue
        description = " ".join((fp.findtext("description") or "").split())
        result.add({"id": f"recog.{slug(label, 30)}.{n}.{slug(description or 'x', 30)}", **rule,
                    "reference": f"Rapid7 Recog xml/{stem or key}.xml '{description}' (BSD-2-Clause)"})
    return result


def convert_all(files: Iterable[tuple[str, str]], taxonomy: Taxonomy | None = None) -> ImportResult:
    """Rules from several Recog files, ``(file name, text)`` each (a clone's ``xml/`` directory)."""
    result = ImportResult("recog")
    tax = taxonomy or Taxonomy.load()
    for i, (name, text) in enumerate(files):
        if i >= MAX_FILES:
            raise ParseError(f"more than {MAX_FILES} Recog files (MAX_FILES)")
        try:
            convert(text, name, tax, result)
        except ParseError as exc:
            raise ParseError(f"{name}: {exc}") from exc
    return result


def ruby_to_python(pattern: str) -> str:
    """Python ``re`` text for a Ruby (Onigmo) regex; re.error is left to the caller.

    Ruby's ``^``/``$`` always match at line ends (Python's MULTILINE), ``\\z`` is Python's ``\\Z``,
    Ruby's ``\\Z`` also allows a final newline, ``\\h`` is a hex digit, ``(?<name>`` is ``(?P<name>``;
    a flag group right after a leading anchor (``^(?i)...``) moves to the front. Possessive quantifiers
    and atomic groups are Python 3.11's too; what else differs fails to compile and is skipped.
    """
    m = _LEADING_FLAGS.match(pattern)
    if m:
        pattern = f"(?{m.group(2)}){m.group(1)}{pattern[m.end():]}"
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "h":
                out.append("0-9a-fA-F" if in_class else "[0-9a-fA-F]")
            elif nxt == "z" and not in_class:
                out.append(r"\Z")
            elif nxt == "Z" and not in_class:
                out.append(r"(?=\n?\Z)")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "^":
                out.append("[^")
                i += 2
                if pattern[i:i + 1] == "]":  # a leading ']' is a literal in the class
                    out.append("]")
                    i += 1
                continue
            if pattern[i + 1:i + 2] == "]":
                out.append("[]")
                i += 2
                continue
        elif pattern.startswith("(?<", i) and pattern[i + 3:i + 4] not in ("=", "!"):
            out.append("(?P<")
            i += 3
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _rule(fp: ET.Element, target: tuple[str | list[str], str], tax: Taxonomy,
          result: ImportResult) -> dict[str, Any] | None:
    pattern = fp.get("pattern", "")
    flags = {f.strip() for f in re.split(r"[,|]", fp.get("flags", "")) if f.strip()}
    if not pattern:
        result.skipped["fingerprint without a pattern"] += 1
        return None
    if flags - KNOWN_FLAGS:
        result.skipped["unsupported regex flag"] += 1
        return None
    attribute, anchor_prefix = target
    converted = ruby_to_python(pattern)
    if anchor_prefix:
        converted = re.sub(r"^((?:\(\?[imsx]+\))*)(\^|\\A)", lambda m: m.group(1) + m.group(2) + anchor_prefix,
                           converted, count=1)
    prefix = ("s" if flags & DOTALL_FLAGS else "") + ("m" if "^" in converted or "$" in converted else "")
    regex = f"(?{prefix}){converted}" if prefix else converted
    if len(regex) > MAX_PATTERN_LENGTH:  # the rule validator refuses it (kb/schema.py)
        result.skipped["regex longer than MAX_PATTERN_LENGTH"] += 1
        return None
    try:
        compiled = re.compile(regex, re.IGNORECASE if "REG_ICASE" in flags else 0)
    except (re.error, OverflowError, RecursionError):
        result.skipped["Ruby regex Python cannot compile"] += 1
        return None
    params = _params(fp, compiled.groups)
    if params is None:
        result.skipped["param names a regex group the pattern lacks"] += 1
        return None
    conclusions = _conclusions(params, tax, result)
    if not conclusions:
        result.skipped["no conclusion our rules hold (service.* only)"] += 1
        return None
    match: dict[str, Any] = {"attribute": list(attribute) if isinstance(attribute, list) else attribute,
                             "regex": regex}  # a list of its own: no YAML anchors in the written file
    if "REG_ICASE" in flags:
        match["ignore_case"] = True
    return {"match": match, "conclusions": conclusions, "weight": _weight(fp.get("certainty"))}


def _params(fp: ET.Element, groups: int) -> dict[str, str] | None:
    """Param name -> our template: a fixed value, or ``{N}`` for regex group N (interpolations resolved)."""
    raw: dict[str, tuple[int, str]] = {}
    for param in fp.iter("param"):
        name = param.get("name", "").strip()
        try:
            pos = int(param.get("pos", "0"))
        except ValueError:
            return None
        if not name or pos < 0 or pos > groups:
            return None
        raw[name] = (pos, param.get("value", "") or "")
    out: dict[str, str] = {}
    for name, (pos, value) in raw.items():
        if pos:
            out[name] = f"{{{pos}}}"
            continue
        unresolved = False

        def sub(m: re.Match[str]) -> str:
            nonlocal unresolved
            ref = raw.get(m.group(1))
            if ref is None or (ref[0] == 0 and _INTERPOLATION.search(ref[1])):
                unresolved = True
                return ""
            return f"{{{ref[0]}}}" if ref[0] else ref[1]

        text = " ".join(_INTERPOLATION.sub(sub, value).split())
        if unresolved or not text:
            continue
        # a literal "{word}" left in a fixed value would read as a regex group placeholder of ours
        if any(not g.isdigit() for g in _OUR_PLACEHOLDER.findall(text)):
            continue
        out[name] = text
    return out


def _conclusions(params: dict[str, str], tax: Taxonomy, result: ImportResult) -> dict[str, str]:
    out: dict[str, str] = {}
    device_name = params.get("hw.device") or params.get("os.device") or ""
    appliance = bool(params.get("os.device")) and params.get("os.device", "").lower() != "general"
    hw_product = params.get("hw.product", "")
    model = hw_product if _OUR_PLACEHOLDER.search(hw_product) else (params.get("hw.model") or hw_product)
    os_is_firmware = appliance and not (params.get("hw.vendor") or model)
    if params.get("hw.vendor"):
        out["vendor"] = params["hw.vendor"]
    elif os_is_firmware and params.get("os.vendor"):
        out["vendor"] = params["os.vendor"]
    if os_is_firmware:
        model = params.get("os.product", "")
    if model:
        out["model"] = model
    if device_name and not _OUR_PLACEHOLDER.search(device_name):
        device_type = tax.resolve(DEVICE_NAMES.get(device_name.lower(), device_name))
        if device_type:
            out["device_type"] = device_type
        else:
            result.skipped["device name not in the taxonomy (device_type left out)"] += 1
    os_name = "" if os_is_firmware else (params.get("os.product") or params.get("os.family") or "")
    # "Aironet {hw.model} Firmware": Recog names a device's own firmware as its OS (CPE o: part)
    own_firmware = os_is_firmware or os_name.lower().endswith("firmware") or (
        not os_name and bool(params.get("os.vendor")) and params.get("os.vendor") == params.get("hw.vendor"))
    firmware = params.get("hw.version") or (params.get("os.version", "") if own_firmware else "")
    if firmware:
        out["firmware"] = firmware
    if os_name and not own_firmware and os_name.lower() != "unknown":
        out["os"] = os_name
        if params.get("os.version"):
            out["os_version"] = params["os.version"]
    return {k: v for k, v in out.items() if v.lower() != "unknown"}


def _weight(certainty: str | None) -> float:
    try:
        scale = min(max(float(certainty), 0.0), 1.0) if certainty else 1.0
    except ValueError:
        scale = 1.0
    return round(DEFAULT_WEIGHT * scale, 2)
