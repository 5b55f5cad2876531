"""What a device shows that is not itself: a User-Agent its programs choose, and the printer announcements of a
printer it shares. Each pass splits a device's evidence into what describes the device and what yields (kept to
explain the vendor, counted for nothing); inventory/classifier.py runs them before it weighs."""

# * a printer's Bonjour evidence (rules marked ``behaviour: printer_announcement``: _ipp._tcp, _printer._tcp, TXT
#   ty=, product=) is the printer's a host shares when the device also announces a key only a print scheduler
#   sharing a queue announces (``behaviour: print_sharing``: CUPS's rp=printers/<queue>, printer-type; macOS printer
#   sharing runs CUPS): then it yields, so a Mac sharing an HP printer is the Mac its own evidence says, and a
#   printer, which announces no such key, keeps it. It yields too on a device that shows an IT machine (any match
#   saying an IT_OS system or a CONTROLLER_TYPES kind: Windows' DHCP, a browser's User-Agent) and no sign of a
#   printer's own (product evidence typing a printer that is no such announcement: TXT usb_MFG, _pdl-datastream._tcp,
#   which CUPS's shared queues never carry, a printer's SNMP or web server): a host whose sharing keys went unseen
#   (the TXT record not captured) is the PC its own evidence says, and a printer announcing what printers announce
#   keeps its kind (its browser then a mask);
# * a User-Agent is text the client chooses (RFC 9110 §10.1.5: a client may send any product tokens; Mirai's HTTP
#   flood (mirai/bot/attack_app.c, the source published 2016) sends desktop Chrome, Firefox and Safari strings from
#   BusyBox cameras and routers), while the DHCP client and the MAC block are the device's own stack. A User-Agent
#   match that says an IT machine's system (IT_OS: Windows, macOS) or types a phone, computer or server
#   (CONTROLLER_TYPES) yields when the device's other evidence best supports another system than the User-Agent's,
#   however weakly (BusyBox udhcpc's vendor class or request list: Linux), or concludes a kind of a category other
#   than it (a camera maker's block typing a camera): the device, not a program's mask, says what it is; so does a
#   category other than it its own evidence concludes (a miIO device's iot). With other evidence agreeing (MSFT 5.0
#   DHCP, an iPhone's request list under its Safari, a kind or category of IT machines) the User-Agent stands. With
#   nothing else to weigh (no DHCP, a block that types nothing) it is a bot's or a script's word as much as a PC's:
#   it says the system, with its own weight (all of a device's User-Agent matches are one source,
#   inventory/weighing.py), and neither the kind nor the category (system_only), and the system it alone states is
#   no IT_OS evidence (inventory/classifier.py): a device only a desktop User-Agent describes stays uncategorised,
#   judged as an IoT device by the detectors (detect/lateral.py), rather than an IT machine a bot can claim to be.
#   A brand's cloud its app reaches and a shared printer's announcements are no such evidence: a PC or phone
#   running a camera's app is no camera (the classifier's controller pass and shared_printer say whose they are).

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from iotwarden.inventory import weighing
from iotwarden.kb.index import Match
from iotwarden.kb.taxonomy import Taxonomy

APP_REACHABLE = "app_reachable"  # kb/schema.py BEHAVIOURS: a brand's cloud its app reaches too
PRINTER_ANNOUNCEMENT = "printer_announcement"  # kb/schema.py BEHAVIOURS: a printer's Bonjour, a sharing host's too
PRINT_SHARING = "print_sharing"  # kb/schema.py BEHAVIOURS: a key only a host sharing a print queue announces
PRINTER_TYPE = "printer"  # taxonomy type (with its descendants) a printer's own sign names (see the notes)
CONTROLLER_TYPES = frozenset({"mobile_phone", "workstation", "server"})  # with descendants: run brands' apps
# Windows (its desktop and server editions; Windows CE is the kb's os "Windows CE") and macOS run only on IT machines
IT_OS = frozenset({"Windows", "macOS"})
USER_AGENT = "http.user_agent"  # client-chosen text (see the notes): yields to the device's own stack
IT_CATEGORY = "it"  # taxonomy category of the phones, computers and servers a browser User-Agent names


def it_machine(taxonomy: Taxonomy, match: Match) -> bool:
    """Whether ``match`` says an IT machine: a system of IT_OS or a kind of CONTROLLER_TYPES (or below)."""
    tid = match.conclusions.get("device_type")
    return match.conclusions.get("os") in IT_OS or bool(
        tid and taxonomy.get(tid) is not None and {tid, *taxonomy.ancestors(tid)} & CONTROLLER_TYPES)


def it_sign(taxonomy: Taxonomy, match: Match) -> bool:
    """Whether ``match`` says category it, directly or by its type, however weakly."""
    tid = match.conclusions.get("device_type")
    return match.conclusions.get("category") == IT_CATEGORY or bool(
        tid and taxonomy.get(tid) is not None and taxonomy.category_of(tid) == IT_CATEGORY)


def user_agent(taxonomy: Taxonomy, min_confidence: float,
               matches: list[Match]) -> tuple[list[Match], list[Match], list[Match]]:
    """The matches that are evidence about the device; the User-Agent ones naming an IT machine (IT_OS, a
    CONTROLLER_TYPES kind) that the device's own stack contradicts: its other evidence best supports a system
    not of IT_OS, or concludes a kind or a category other than it; and those of the rest that nothing of its own
    confirms, no system, kind or category (see the notes at the top of this module): they say a system only."""
    masks = [m for m in matches if m.attribute == USER_AGENT and it_machine(taxonomy, m)]
    if not masks:
        return matches, [], []
    # the device's own evidence: not a brand's cloud, which its controller's app reaches too
    own = [m for m in matches if m.attribute != USER_AGENT and m.behaviour != APP_REACHABLE]
    # a system its own stack states, however weakly (udhcpc's request list alone weighs under the threshold),
    # when it is best supported there: a PC's MSFT 5.0 outweighs a stray weak Linux sign
    systems = weighing.support_of("os", own)
    os = max(systems, key=lambda v: (systems[v], v)) if systems else None
    if os is not None and os in IT_OS and any(m.conclusions.get("os") == os for m in masks):
        return matches, [], []  # the device's own stack states the system the User-Agent does: no mask
    kind = weighing.device_type(taxonomy, min_confidence, own)
    category = weighing.category(taxonomy, min_confidence, own)
    if not (kind is None or taxonomy.get(kind.value) is None
            or taxonomy.category_of(kind.value) == IT_CATEGORY) or (
            category is not None and category.value != IT_CATEGORY):  # an IoT kind, a miIO device's iot
        return [m for m in matches if m not in masks], masks, []
    if os is not None and os not in IT_OS:
        # another system than the one a mask states (an iPhone's Safari on its iOS request list agrees)
        masks = [m for m in masks if m.conclusions.get("os") != os]
        return [m for m in matches if m not in masks], masks, []
    if os is not None or kind is not None or any(it_sign(taxonomy, m) for m in own):
        return matches, [], []  # its own system, kind or sign of an IT machine (a CUPS queue it shares) agrees
    return matches, [], masks  # nothing of its own to confirm or contradict: a system guess, no kind, no category


def system_only(matches: list[Match], unconfirmed: list[Match]) -> list[Match]:
    """``matches`` with the ``unconfirmed`` User-Agent ones concluding neither a type nor a category."""
    if not unconfirmed:
        return matches
    return [replace(m, conclusions=MappingProxyType({k: v for k, v in m.conclusions.items()
                                                     if k not in ("device_type", "category")}))
            if m in unconfirmed else m for m in matches]


def shared_printer(taxonomy: Taxonomy, matches: list[Match]) -> tuple[list[Match], list[Match]]:
    """The matches that are evidence about the device, and the printer announcements that describe a printer it
    shares: all of them when it announces a print_sharing key, or when it shows an IT machine (its system, a
    computer's kind, a browser's User-Agent) and no sign of a printer's own (see the notes at the top)."""
    announced = [m for m in matches if m.behaviour == PRINTER_ANNOUNCEMENT]
    if not announced:
        return matches, []
    if not any(m.behaviour == PRINT_SHARING for m in matches):
        rest = [m for m in matches if m.behaviour not in (PRINTER_ANNOUNCEMENT, APP_REACHABLE)]
        printer = {PRINTER_TYPE, *(t for t in taxonomy.types if PRINTER_TYPE in taxonomy.ancestors(t))}
        if not any(it_machine(taxonomy, m) for m in rest) or any(
                m.conclusions.get("device_type") in printer and not weighing.is_component(m) for m in rest):
            return matches, []
    return [m for m in matches if m.behaviour != PRINTER_ANNOUNCEMENT], announced
