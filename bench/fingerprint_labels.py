"""The label tables of bench/fingerprint_eval.py (issue #3): which kinds a third party's label names (Satori's
device_type, a name's kind words, Fingerbank 2014's classes), which labels are ambiguous, and which vendor fields name
no vendor. Data only: the evaluator reads a label through these tables and nothing else."""

from __future__ import annotations

import re


def _k(*kinds: str) -> frozenset[str]:
    return frozenset(kinds)


# Satori device_type values (lowercased) -> acceptable taxonomy types; None: ambiguous, excluded. A value missing
# from the table names no device kind (an application, 'Antivirus', 'Cloud Backup').
KIND_LABELS: dict[str, frozenset[str] | None] = {
    "wireless access point": _k("access_point"), "wireless router": _k("router", "access_point"),
    "router": _k("router"), "switch": _k("switch"), "firewall": _k("firewall"),
    "wireless controller": _k("wireless_controller"), "load balancer": _k("load_balancer"),
    "voip phone": _k("voip_phone"), "video phone": _k("voip_phone", "video_conferencing"),
    "voip gateway": _k("voip_gateway"), "voip adapter": _k("voip_gateway"),
    "video conferencing": _k("video_conferencing"), "printer": _k("printer"),
    "sharp printer": _k("printer"), "ip network camera": _k("camera"), "dvr": _k("nvr"),
    "nas": _k("nas"), "file storage": _k("nas"), "smartphone": _k("mobile_phone"),
    "mobile phone": _k("mobile_phone"), "tablet": _k("tablet"),
    "pda": _k("mobile_phone", "tablet"), "smartwatch": _k("wearable"),
    "ebook reader": _k("ereader"), "ereader": _k("ereader"), "game console": _k("game_console"),
    "smart tv": _k("smart_tv"), "smarttv": _k("smart_tv"),
    # an IPTV box is a TV or a player; a 'digital media receiver' a player (taxonomy alias); Satori's 'Multimedia
    # Device' is its class for iPads, iPhones and iPods as well as players: ambiguous (below)
    "iptv": _k("smart_tv", "media_player"), "multimedia device": None,
    "digital media receiver": _k("media_player"), "digital media player": _k("media_player"),
    "video streaming": _k("media_player", "smart_tv"), "digital signage": _k("digital_signage"),
    "media link controller": _k("smart_hub"), "home assistant": _k("smart_hub"),
    "sensor": _k("sensor"), "key lock box": _k("door_lock"), "thin client": _k("thin_client"),
    "workstation": _k("workstation"), "ups": _k("ups"), "serial to ethernet": _k("serial_server"),
    "wordpress server": _k("server"), "key server": _k("server"),
    # ambiguous: a vulnerability scanner (Satori's icmp/web user agents) or a document scanner; a mobile or desk
    # phone; a smart plug or a network switch; a proxy appliance or software; 'Miscellaneous'; a DSP board; a tester
    "scanner": None, "phone": None, "smart switch": None, "proxy": None, "miscellaneous": None, "dsp": None,
    "network diagnostics": None,
}
# Kind words of a name when the entry has no device_type (Satori) or its class is too wide (Fingerbank), first match
# wins: only words that name a kind, never a product line. Ambiguous words map to None.
KIND_WORDS: tuple[tuple[str, frozenset[str] | None], ...] = (
    (r"print server|scanner|\bswitch\b|\bphone system\b|\bpbx\b|softphone|soft phone", None),
    (r"\b(ip|voip|sip|desk) ?phones?\b|\bvideo ?phones?\b", _k("voip_phone", "video_conferencing")),
    (r"phone adapter|\bata\b|voip gateway|telephone adapter", _k("voip_gateway")),
    (r"multifunction|\bmfp\b|printers?\b|copiers?\b", _k("printer")),
    (r"\bnvr\b|\bdvr\b|video recorder", _k("nvr")),
    (r"cameras?\b|webcam|\bip ?cam\b", _k("camera")),
    (r"access points?\b|\bwireless ap\b", _k("access_point")),
    (r"\brouters?\b", _k("router", "access_point")),
    (r"firewall", _k("firewall")), (r"load balancer", _k("load_balancer")),
    (r"wireless (lan )?controller", _k("wireless_controller")),
    (r"\bnas\b|network storage|network attached storage", _k("nas")),
    (r"smart ?tv\b|television", _k("smart_tv")), (r"set[- ]?top box", _k("media_player", "smart_tv")),
    (r"media (player|receiver|streamer)", _k("media_player")),
    (r"game console|gaming console", _k("game_console")),
    (r"smart ?phone", _k("mobile_phone")), (r"\btablet\b", _k("tablet")),
    (r"smart ?watch", _k("wearable")), (r"e-?book reader|e-?reader", _k("ereader")),
    (r"video ?conferenc", _k("video_conferencing")), (r"projector", _k("projector")),
    (r"thermostat", _k("thermostat")), (r"smart plug", _k("smart_plug")),
    (r"thin client", _k("thin_client")), (r"\bups\b", _k("ups")), (r"\bpdu\b", _k("pdu")),
    (r"digital signage", _k("digital_signage")), (r"point of sale|\bpos terminal", _k("pos_terminal")),
)
# Fingerbank 2014 class descriptions -> kinds (its os descriptions' own kind words come first); the OS classes name
# no kind; 'Monitoring Devices', 'Physical Security', 'Datacenter appliance', 'Misc' and 'Scanner' are too wide
FINGERBANK_CLASSES: dict[str, frozenset[str] | None] = {
    "voip phones/adapters": _k("voip_phone", "voip_gateway"), "routers and aps": _k("router", "access_point"),
    "gaming consoles": _k("game_console"), "home audio/video equipment": _k("media_player", "smart_tv"),
    "printers": _k("printer"), "switches": _k("switch"), "storage devices": _k("nas"),
    "smartphones/pdas/tablets": _k("mobile_phone", "tablet"), "video conferencing": _k("video_conferencing"),
    "projectors": _k("projector"), "thin clients": _k("thin_client"),
    "point of sale devices": _k("pos_terminal"), "monitoring devices": None, "physical security": None,
    "datacenter appliance": None, "misc": None, "scanner": None,
}
# names that make a label's kind ambiguous whatever its device_type: Satori types the Asterisk and 3CX PBXs and
# the 3CX softphone (software on a computer) 'VoIP Phone'
AMBIGUOUS_NAMES = re.compile(r"phone system|\bpbx\b|soft ?phone", re.IGNORECASE)
# vendor fields that name no vendor (Satori web.xml 'Generic Printer', device_vendor 'Generic')
NOT_VENDORS = frozenset({"generic", "unknown", "various", "other"})
# the labels' misspellings of a vendor name (Satori dhcp.xml 'Cannon Image Runner ...', device_vendor 'Cannon')
VENDOR_TYPOS = {"cannon": "Canon"}
