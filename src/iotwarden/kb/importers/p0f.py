"""p0f v3 ``p0f.fp`` -> TCP/IP stack fingerprint rules (``tcp.syn_signature`` / ``tcp.synack_signature``)."""

# Format (p0f 3 README §5): ``[module:direction]`` sections; ``label = type:class:name:flavor``
# (type ``s`` specific or ``g`` generic; class ``win``/``unix``/``other`` or ``!`` for an
# application) followed by its ``sig = ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass`` lines.
# Only the TCP sections become rules; MTU and HTTP sections are counted as skipped.

from __future__ import annotations

from iotwarden.kb.importers.common import ImportResult, slug
from iotwarden.kb.tcpsig import P0fSignature

SECTIONS = {"tcp:request": "tcp.syn_signature", "tcp:response": "tcp.synack_signature"}
WEIGHT = {"s": 0.7, "g": 0.4}  # p0f: specific vs generic signature


def convert(text: str) -> ImportResult:
    result = ImportResult("p0f")
    section = ""
    label: tuple[str, str, str, str] | None = None
    counters: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section, label = line[1:-1].strip(), None
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep:
            result.skipped["unparsable line"] += 1
            continue
        if key == "label":
            if section not in SECTIONS:
                continue  # [mtu] / [http:*] labels have their own syntax; their sigs are skipped
            parts = value.split(":", 3)
            label = (parts[0], parts[1], parts[2], parts[3]) if len(parts) == 4 else None
            if label is None:
                result.skipped["bad label"] += 1
            continue
        if key != "sig":
            continue  # classes=, sys=: p0f bookkeeping
        if section not in SECTIONS:
            result.skipped[f"[{section}] section"] += 1
            continue
        if label is None:
            result.skipped["sig without a valid label"] += 1
            continue
        kind, klass, name, flavor = label
        if klass == "!":
            result.skipped["application label (not an OS)"] += 1
            continue
        try:
            P0fSignature.parse(value)
        except ValueError:
            result.skipped["invalid signature"] += 1
            continue
        conclusions = {"os": name}
        if flavor:
            conclusions["os_version"] = flavor
        base = f"p0f.{'syn' if section == 'tcp:request' else 'synack'}.{slug(name)}.{slug(flavor, 24)}"
        counters[base] = counters.get(base, 0) + 1
        result.add({
            "id": f"{base}.{counters[base]}",
            "match": {"attribute": SECTIONS[section], "p0f": value},
            "conclusions": conclusions,
            "weight": WEIGHT.get(kind, 0.4),
            "reference": f"p0f.fp [{section}] label '{kind}:{klass}:{name}:{flavor}' (line {lineno})",
        })
    return result
