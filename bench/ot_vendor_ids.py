"""The OT vendor-id rule files, generated from the registries' id -> company facts (issue #3).

ODVA assigns the CIP vendor ids a device's Identity object states, ASHRAE the BACnet vendor identifiers of
I-Am and the Device object. Their own lists are not reachable from the build machines; Wireshark keeps a
table of each (packet-cip.c ``cip_vendor_vals``, packet-bacapp.c ``BACnetVendorIdentifiers``), which
``tshark -G values`` prints as data. This script reads that output (the facts only: id and company) and
writes ``kb/data/rules/enip_vendors.yaml`` and ``bacnet_vendors.yaml``: one exact-match rule per id naming
the company as ``vendor_aliases.yaml`` spells it, the registered name kept in the reference for checking.

    tshark -G values > /tmp/values.txt
    python bench/ot_vendor_ids.py /tmp/values.txt          # rewrites the two rule files
    python bench/ot_vendor_ids.py /tmp/values.txt --check  # exit 1 when they differ from what it would write

The shipped files came from Wireshark 4.0.17 (Debian 12).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

from iotwarden.kb import paths
from iotwarden.kb.importers.common import slug
from iotwarden.kb.oui import VendorNames

RULES = paths.PACKAGE_DATA / "rules"
FIELDS = {"enip": "cip.id.vendor_id", "bacnet": "bacapp.vendor_identifier"}
# (attribute, rule-id prefix, reference, extra conclusions, weight, output file)
SPACES = {
    "enip": ("enip.vendor_id", "enip.vendor",
             "ODVA CIP vendor id {i} '{name}' (Wireshark 4.0 packet-cip.c cip_vendor_vals)",
             "category: ot", 0.7, "enip_vendors.yaml"),
    "bacnet": ("bacnet.vendor_id", "bacnet.vendor",
               "ASHRAE BACnet vendor id {i} '{name}' (Wireshark 4.0 packet-bacapp.c BACnetVendorIdentifiers)",
               "category: building", 0.6, "bacnet_vendors.yaml"),
}
# ids naming no device maker: registrars, standards bodies and associations, universities and test labs,
# software stacks and chip makers whose id reference designs carry, individuals, placeholders
SKIP = {
    "enip": {
        0, 24, 77, 225, 361, 528, 558, 644, 743, 806, 854, 948, 975, 989, 1030, 1060, 1080, 1100, 1105, 1106, 1117,
        1124, 1205, 1209,
    },
    "bacnet": {
        0, 1, 4, 14, 15, 20, 74, 75, 212, 260, 343, 365, 427, 510, 573, 655, 697, 751, 868, 876, 952, 1032, 1270,
        1297, 1380,
    },
}
# the maker's usual name where the registry's entry is a division, a subsidiary or an old name, or where two
# registrants' names differ only in a legal form, which the vendor name drops: ODVA 72 'Control Technology
# Incorporated' is 'CTI', its initials, and 254 'Control Technology Corporation' keeps the name
OVERRIDE = {
    "enip": {
        13: 'Belden', 16: 'Woodhead', 37: 'Yaskawa', 59: 'MKS Instruments', 71: 'Toshiba', 72: 'CTI', 78: 'Datalogic',
        96: 'Pro-face', 116: 'MTS Systems', 121: 'KUKA', 123: 'Samsung', 143: 'GE', 182: 'Marsh Bellofram',
        245: 'Weidmüller', 257: 'Control Techniques', 276: 'GE', 322: 'ifm', 326: 'GE', 335: 'Toshiba',
        345: 'Endress+Hauser', 355: 'Elsag Bailey', 376: 'Toshiba', 403: 'Eaton', 445: 'Lenze', 468: 'Baumer',
        529: 'OKUMA', 537: 'Foxboro', 552: 'OKUMA', 553: 'Control Techniques', 561: 'Comau', 579: 'Woodhead',
        606: 'ZPA-DP', 638: 'Woodhead', 645: 'Bihl+Wiedemann', 651: 'Fife', 680: 'Weidmüller', 711: 'MTS Systems',
        754: 'Pro-face', 763: 'Baumer', 778: 'Harting', 829: 'Rockwell Samsung Automation', 850: 'Datalogic',
        887: 'B&R', 903: 'Emerson', 911: 'MAN B&W Diesel', 925: 'HIMA', 928: 'GE', 930: 'Jetter', 939: 'Cisco',
        947: 'Belden', 969: 'Shimohira Electric', 976: 'Invensys', 991: 'Moxa', 998: 'Emerson', 1006: 'N-Tron',
        1009: 'Epson', 1015: 'Weidmüller', 1059: 'Delta Electronics', 1130: 'Brother', 1141: 'Emerson',
        1151: 'COPA-DATA', 1156: 'Philips Lighting', 1168: 'Kunbus', 1182: 'Endress+Hauser', 1220: 'ABT Endustri',
        1225: 'Rosemount',
    },
    "bacnet": {
        3: 'Daikin Applied', 16: 'Carrier', 18: 'Alerton', 19: 'TAC', 23: 'York', 32: 'Simplex', 34: 'Notifier',
        37: 'MSA Safety', 42: 'Acuity Brands', 52: 'Badger Meter', 53: 'Daikin', 56: 'Vertiv', 62: 'TSI',
        73: 'ABB', 78: 'UTC Fire & Security', 79: 'Hochiki', 81: 'Panasonic', 82: 'Mitsubishi Electric',
        84: 'Xylem', 85: 'Yamatake', 86: 'Watt Stopper', 91: 'Trend Control Systems', 92: 'Mitsubishi Electric',
        98: 'Toshiba', 99: 'Mitsubishi Electric', 107: 'Johnson Controls', 111: 'Leviton', 113: 'Vertiv',
        124: 'Lenze', 129: 'Toshiba Carrier', 141: 'Yaskawa', 163: 'SysMik', 169: 'Vacon',
        173: 'Mitsubishi Electric', 176: 'Lutron', 189: 'Schneider Electric', 190: 'Danfoss', 199: 'Innotech',
        203: 'Toshiba Schneider Inverter', 206: 'Onicon', 217: 'Samsung', 227: 'Grundfos',
        238: 'Schneider Electric', 246: 'HMS Networks', 251: 'Wilo', 276: 'GE', 284: 'Belimo', 294: 'Legrand',
        298: 'DriSteem', 306: 'Badger Meter', 308: 'Elesta', 309: 'Securiton', 312: 'Honeywell', 316: 'Janitza',
        325: 'Securiton', 329: 'TROX', 333: 'Honeywell', 339: 'Vaisala', 359: 'WEG', 363: 'CEAG', 366: 'ICONICS',
        386: 'Hekatron', 387: 'Securiton', 388: 'Carlo Gavazzi', 399: 'Toshiba', 402: 'Delta Controls',
        407: 'FATEK', 415: 'Beckhoff', 423: 'Belimo', 432: 'LG', 433: 'ETC', 434: 'Mitsubishi Electric',
        437: 'Tyco', 441: 'GE', 458: 'ICP DAS', 486: 'HMS Networks', 498: 'ThyssenKrupp Elevator', 505: 'Mircom',
        520: 'Deutschmann Automation', 523: 'Sigmatek', 525: 'Circutor', 526: 'UTC Fire & Security', 528: 'Bosch',
        529: 'GE Intelligent Platforms', 532: 'MSR-Electronic', 535: 'Daintree', 546: 'Kamstrup', 551: 'Toshiba',
        553: 'Hanwha Vision', 554: 'ISAS', 562: 'Crestron', 568: 'GE', 582: 'BTicino', 591: 'Socomec',
        600: 'Horner', 615: 'ETC', 622: 'FläktGroup', 647: 'Toshiba', 653: 'NIBE', 683: 'Knürr', 702: 'Samsung',
        719: 'Panduit', 732: 'HSS-MSR', 744: 'Bosch', 767: 'Viessmann', 781: 'Mitsubishi Electric', 801: 'Signify',
        802: 'AutomationDirect', 815: 'Hisense', 834: 'Watts', 845: 'KSB', 873: 'Kepware', 877: 'DEOS',
        881: 'Gossen Metrawatt', 891: 'Delta Controls', 899: 'Bihl+Wiedemann', 902: 'Otis', 904: 'RAM',
        908: 'Echelon', 921: 'Potter Electric Signal', 922: 'Tyco', 928: 'MSA Safety', 929: 'Mercato',
        937: 'HMS Networks', 971: 'Samsung', 976: 'Condair', 984: 'KONE', 985: 'Ziehl-Abegg', 990: 'Huawei',
        993: 'Cree Lighting', 998: 'Zumtobel', 1001: 'Molex', 1017: 'Rheem', 1018: 'COPA-DATA', 1029: 'Hager',
        1053: 'Weintek', 1059: 'STULZ', 1066: 'IDEC', 1088: 'Kinco', 1094: 'nVent', 1096: 'Moxa', 1112: 'CODESYS',
        1128: 'Steinel', 1129: 'Georg Fischer', 1141: 'Hitachi-Johnson Controls', 1149: 'Schindler',
        1157: 'Kohler', 1170: 'Fluke', 1175: 'Crevis', 1184: 'Bosch', 1193: 'Emerson', 1207: 'Unitronics',
        1208: 'TRILUX', 1210: 'Bosch Rexroth', 1211: 'Carrier', 1213: 'SIIC-Longchuang', 1225: 'Awair',
        1228: 'Loxone', 1230: 'Inductive Automation', 1234: 'Kohler', 1238: 'Eaton', 1241: 'Bender', 1248: 'TROX',
        1271: 'Somfy', 1300: 'Geberit', 1332: 'JUMO', 1340: 'Watts', 1345: 'Warema', 1379: 'Airthings',
        1389: 'Milesight', 1412: 'Verkada', 1414: 'Emerson', 1426: 'Mitsubishi Electric', 1428: 'Gree',
        1430: 'Hikvision',
    },
}
LEGAL = (r",?\s+(gmbh\s*[&+]\s*co\.?\s*(kg)?|ag\s*&\s*co\.?\s*kg|gmbh\s+co\.?\s*kg|&\s*co\.?(\s*kg)?|co\.?\s*kg|kg"
         r"|spol\.\s*s\.?r\.?o\.?|s\.r\.o\.?|sdn\.?\s*bhd|ltda\.?|pvt\.?(\s*ltd\.?)?|p/l|s\.l\.?|sl|a\.s\.?|mbh|gmbh"
         r"|sp\.?\s*z\s*o\.?\s*o\.?|k\.k\.?|kk|se|ug|llp|s\.r\.l\.?(\s+unipersonale)?|s\.p\.a\.?|spa|aps|oy|ab|ltd\.?"
         r"|a/s|limited|inc\.?|corp\.?|corporation|co\.?|company|llc|ag|s\.a\.?|sa|b\.v\.?|bv|pty|pte|ptd)$")
HEADERS = {
    "enip": """\
# EtherNet/IP (CIP) vendor ids -> the device's maker. A CIP Identity object (ListIdentity answer, Get_Attributes_All
# of class 1; dissect/enip.py, dissect/cip.py) states attribute 1 Vendor ID, which ODVA assigns to each company that
# builds CIP products (CIP Vol. 1 §5A-2.1): the id names the maker, and every such maker builds industrial devices.
# Data: the id -> company facts of ODVA's vendor-id registry, read from Wireshark 4.0's table of it (packet-cip.c
# cip_vendor_vals, as `tshark -G values` lists field cip.id.vendor_id); ODVA's own list (odva.org, "Vendor ID") is
# not reachable from here, so each rule names the registered company in its reference for checking against it.
# Generated from those facts by bench/ot_vendor_ids.py (no Wireshark text copied); company names read through
# vendor_aliases.yaml, so the registry's "Rockwell Automation/Allen-Bradley" and the IEEE registrant agree. Left
# out: reserved ids, ODVA's own, universities and institutes, test-tool makers, and chip or software-stack makers
# whose id reference designs carry (Texas Instruments, Altera, Actel, Renesas, Innovasic, Wind River, TuxPLC ...):
# their id names no product.
# The ids ot.yaml lists already (Rockwell 1, 5; Honeywell 3; Siemens 145 ...) stay there.
source: ot
rules:
""",
    "bacnet": """\
# BACnet vendor identifiers -> the device's maker. An I-Am (ANSI/ASHRAE 135 §16.10) and the Device object's
# Vendor_Identifier (§12.11.8) carry the id ASHRAE assigns to each company that builds BACnet products; a device
# stating it is one of that company's and part of a building automation system (category only: makers of drives,
# meters, fire panels and lighting hold ids too, so the id names no kind of device).
# Data: the id -> company facts of ASHRAE's registry (bacnet.org "Vendor IDs"), read from Wireshark 4.0's table of
# it (packet-bacapp.c BACnetVendorIdentifiers, as `tshark -G values` lists field bacapp.vendor_identifier); the
# registrar's own list is not reachable from here, so each rule names the registered company in its reference.
# Generated from those facts by bench/ot_vendor_ids.py (no Wireshark text copied), names read through
# vendor_aliases.yaml. Left out: ids of ASHRAE, NIST, standards bodies and associations, universities, test labs,
# open-source stacks and chip makers, and individuals: their id names no product's maker. The ids ot.yaml lists
# already (Trane 2, Johnson Controls 5, Siemens 7/9/22 ...) stay there with their building_controller type.
source: ot
rules:
""",
}


def read_values(text: str, field: str) -> list[tuple[int, str]]:
    """(id, company) rows of one value-string field in ``tshark -G values`` output."""
    rows = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[0] == "V" and parts[1] == field:
            rows.append((int(parts[2]), parts[3].strip()))
    return rows


def existing(attribute: str, skip: set[str]) -> set[int]:
    """Ids other rule files already conclude from (ot.yaml's hand-written ones stay there)."""
    found: set[int] = set()
    for path in sorted(RULES.glob("*.yaml")):
        if path.name in skip:
            continue
        for rule in yaml.safe_load(path.read_text(encoding="utf-8")).get("rules", []):
            match = rule.get("match", {})
            if match.get("attribute") == attribute and "exact" in match:
                values = match["exact"] if isinstance(match["exact"], list) else [match["exact"]]
                found.update(int(v) for v in values)
    return found


def clean(name: str, names: VendorNames) -> str:
    """A company's registered name as a short vendor name (vendor_aliases.yaml, then legal forms dropped)."""
    n = re.sub(r"\s*\([^)]*\)", "", name).strip()  # "(Formerly ...)", "(Div. of ...)"
    n = re.sub(r"\s+(A/S|P/L)\b\.?", "", n, flags=re.IGNORECASE)
    n = re.split(r"\s*/\s*", n)[0]  # "Rockwell Automation/Allen-Bradley", "Alerton / Honeywell"
    n = re.sub(r"\s+(formerly|former)\b.*$", "", n, flags=re.IGNORECASE)
    n = n.replace("\u2013", "-").strip(" ,.")
    n = re.sub(r"\s+dba\s+.*$", "", n, flags=re.IGNORECASE)
    whole = n
    for _ in range(3):  # legal forms the shared suffix list does not know ("GmbH & Co. KG", "s.r.o.", "Sdn Bhd")
        n = re.sub(LEGAL, "", n, flags=re.IGNORECASE).strip(" ,.")
    if names.is_generic(n):  # never a generic word alone: BACnet's 'Link GmbH' is no vendor 'Link'
        n = whole
    n = names.canonical(n)
    return re.sub(r"\s+(and|&|\+|of|de|e|und|u\.)$", "", n, flags=re.IGNORECASE)


def render(space: str, rows: list[tuple[int, str]], names: VendorNames) -> str:
    attribute, prefix, reference, extra, weight, _ = SPACES[space]
    have = existing(attribute, {SPACES[s][5] for s in SPACES})
    lines, seen = [], set()
    for i, name in rows:
        if i in seen or i in have or i in SKIP[space] or not name or re.match(r"^(reserved|unassigned)\b", name, re.I):
            continue
        seen.add(i)
        vendor = names.canonical(OVERRIDE[space].get(i) or clean(name, names))
        ref = reference.format(i=i, name=name.replace("'", "\u2019"))
        lines.append(f"  - {{id: {prefix}.{i}.{slug(vendor, 30)}, match: {{attribute: {attribute}, exact: {i}}}, "
                     f"conclusions: {{vendor: {json.dumps(vendor, ensure_ascii=False)}, {extra}}}, weight: {weight}, "
                     f"reference: {json.dumps(ref, ensure_ascii=False)}}}")
    return HEADERS[space] + "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("values", type=Path, help="output of `tshark -G values`")
    parser.add_argument("--check", action="store_true", help="compare with the shipped files, write nothing")
    args = parser.parse_args(argv)
    text = args.values.read_text(encoding="utf-8", errors="replace")
    # the table alone, as the shipped files were made: the IEEE registry's spellings are its registrants', and a rule's
    # own spelling names the vendor over them anyway (kb/oui.py VendorNames.add_registry_spellings)
    names = VendorNames.load(registry=False)
    stale = 0
    for space, field in FIELDS.items():
        out = render(space, read_values(text, field), names)
        path = RULES / SPACES[space][5]
        if args.check:
            if path.read_text(encoding="utf-8") != out:
                print(f"{path}: differs from what {field} gives", file=sys.stderr)
                stale += 1
        else:
            path.write_text(out, encoding="utf-8")
            print(f"{path}: {out.count(chr(10) + '  - ')} rules")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
