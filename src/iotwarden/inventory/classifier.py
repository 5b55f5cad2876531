"""DeviceClassifier: weighs knowledge-base evidence into each device's vendor, model, type, category,
OS and firmware (model.Device.classification), keeping every match so each conclusion can be explained.
"""

# Which evidence counts for what, before it is weighed (inventory/weighing.py):
# * vendors (vendor_aliases.yaml): MAC evidence for the company that owns the brand the product
#   evidence names supports that brand (a Nest camera on a Google block is Google Nest); MAC
#   evidence for a module, chipset or contract maker (part_makers) yields to any evidence naming
#   the product's vendor, even evidence too weak to conclude: then the vendor stays unknown;
# * a brand's cloud name (rules marked ``behaviour: app_reachable``: tls.sni / dns.qname names the brand's
#   app, a hub's or a home-automation server's integration reaches as its goods do) is evidence about the
#   device only when the device is not a controller of other brands' goods. It is one (_controller_evidence)
#   (1) when its other evidence types it as a phone, tablet, computer or server (CONTROLLER_TYPES and
#   their descendants) or concludes an operating system that runs such apps (CONTROLLER_OS: Android,
#   iOS, iPadOS, macOS, Windows; DHCP vendor classes android-dhcp-*, MSFT 5.0, Apple's mDNS names),
#   or (2) when it reaches the clouds of MIN_CONTROLLER_BRANDS unrelated brands or more (a product
#   ships with its brand's cloud, a white-label one with its module platform's too; a phone, a hub or a
#   Home Assistant server reaches each brand whose app or integration it runs). A hub's type alone does
#   not make one: a brand's own hub (Hue Bridge, Aqara, SmartThings) reaches its own cloud. Then every
#   app_reachable match yields (kept to explain the vendor, counted for no property: nor the category
#   iot or the kind such a rule also names), but one of a brand related to a maker its own evidence names (not a
#   part maker) names that maker and nothing else (a Galaxy running the SmartCam app, a Pixel running Nest's);
# * (3) a maker the device's own evidence names, the registry block's owner or a maker's service it
#   announces (Apple's companion-link), that is not a part maker (Apple, Samsung, Google ...) names the
#   product's maker, not an ODM's or a module's: a cloud name of a brand unrelated to it is its app's (an
#   iPhone running the Meross app), so the app_reachable matches of that name yield and the maker stands,
#   unless the device's own product evidence shows an IoT product (the maker built it for the brand: a
#   Lumi-built Xiaomi gateway stating its miIO name). Behind a part maker's block (Espressif, Tuya, an
#   ODM such as Reecam) the cloud still names the brand, as above;
# * (4) a device that runs apps yet is its maker's product, one whose own evidence types it as a TV, media
#   player, streaming stick or smart speaker (APP_HOST_TYPES: app stores, casting, Ring's and Blink's views on
#   an Echo Show or a Fire TV), is no controller by its system (an Android TV) or its brands' clouds alone:
#   a cloud of the maker its own evidence names still names it, one of an unrelated brand is its apps'
#   (never the IoT exception of (3)); with no such maker (a module maker's block) its clouds cannot be told
#   from its apps' and yield as (1) and (2) say. On such a device, and on the block of a maker the knowledge
#   base knows for phones, tablets, computers or servers (a rule typing its products so: Apple's, Samsung's
#   Galaxy and Google's Pixel host names), a cloud of a brand related to the maker but not the maker itself
#   names the maker and nothing else, unless the device's own evidence shows an IoT product: a Galaxy running
#   the SmartThings app and a SmartThings product on a Samsung block are both Samsung's, and only the second
#   is a hub (a SmartThings hub shows SmartThings' own blocks); a Google block reaching only Nest's clouds is
#   Google's (a Pixel sending no host name looks the same), one with a camera's own service Nest's camera.
#   A maker's own cloud counts whole (a SmartCam on a Samsung block, even Samsung Electronics' own as UNSW's
#   is, is a camera when nothing of its own tells a phone); a brand's cloud on the block of an owner that makes
#   no controllers names the brand (a Ring doorbell on an Amazon block);
# * a printer's Bonjour evidence (rules marked ``behaviour: printer_announcement``: _ipp._tcp, _printer._tcp, TXT
#   ty=, product=) is the printer's a host shares when the device also announces a key only a print
#   scheduler sharing a queue announces (``behaviour: print_sharing``: CUPS's rp=printers/<queue>, printer-type;
#   macOS printer sharing runs CUPS): then it yields (kept to explain the vendor, counted for nothing), so a Mac
#   sharing an HP printer is the Mac its own evidence says, and a printer, which announces no such key, keeps it.
#   It yields too on a device that shows an IT machine (any match saying an IT_OS system or a CONTROLLER_TYPES kind:
#   Windows' DHCP, a browser's User-Agent) and no sign of a printer's own (product evidence typing a printer that is
#   no such announcement: TXT usb_MFG, _pdl-datastream._tcp, which CUPS's shared queues never carry, a printer's
#   SNMP or web server): a host whose sharing keys went unseen (the TXT record not captured) is the PC its own
#   evidence says, and a printer announcing what printers announce keeps its kind (its browser then a mask);
# * an operating system only IT machines run (IT_OS: Windows, macOS), once concluded, is evidence for category it
#   (IT_OS_WEIGHT, rule id os.it_system) unless any evidence names OT, medical or building automation (directly or
#   by a type of that category): an HMI, an engineering station or a modality's console runs Windows too, and such
#   evidence, however weak, is more specific than the system it runs. On such a device the rules that type a host
#   by its system's edition or build (``behaviour: it_system``: a client Windows build, which Windows IoT Enterprise
#   shares) yield too, kept to explain nothing: a panel PC on an industrial-PC maker's block is no workstation.
#   A system only a DHCP vendor class (or a User-Agent) states (COPIED_OS_ATTRIBUTES: an embedded camera sends
#   'MSFT 5.0' too) is no such evidence when the device's evidence concludes a kind or a category other than it (a
#   camera maker's block): the camera stands; Windows' request list, build or SMB facts make it the PC it says;
# * a User-Agent is text the client chooses (RFC 9110 §10.1.5: a client may send any product tokens; Mirai's HTTP
#   flood (mirai/bot/attack_app.c, the source published 2016) sends desktop Chrome, Firefox and Safari strings from
#   BusyBox cameras and routers), while the DHCP client and the MAC block are the device's own stack. A User-Agent
#   match that says an IT machine's system (IT_OS: Windows, macOS) or types a phone, computer or server
#   (CONTROLLER_TYPES) yields (kept to explain the vendor, counted for nothing) when the device's other evidence
#   best supports another system than the User-Agent's, however weakly (BusyBox udhcpc's vendor class or request
#   list: Linux), or concludes a kind of a category other than it (a camera maker's block typing a camera): the
#   device, not a program's mask, says what it is; so does a category other than it its own evidence concludes (a
#   miIO device's iot). With other evidence agreeing (MSFT 5.0 DHCP, an iPhone's request list under its Safari, a
#   kind or category of IT machines) the User-Agent stands. With nothing else to weigh (no DHCP, a block that types
#   nothing) it is a bot's or a script's word as much as a PC's: it says the system, with its own weight (all of a
#   device's User-Agent matches are one source, inventory/weighing.py), and neither the kind nor the category, and
#   the system it alone states is no IT_OS evidence: a device only a desktop User-Agent describes stays uncategorised,
#   judged as an IoT device by the detectors (detect/lateral.py), rather than an IT machine a bot can claim to be.
#   A brand's cloud its app reaches and a shared printer's announcements are no such evidence: a PC or
#   phone running a camera's app is no camera (the controller and printer passes below say whose they are);
# * models are weighed after the vendor, in one spelling per product (inventory/modelnames.py): the
#   vendor's name in front dropped, case and punctuation ignored, and never from evidence naming
#   another vendor than the one concluded.

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from functools import cached_property
from types import MappingProxyType
from typing import ClassVar

from iotwarden.hooks import Context
from iotwarden.inventory import weighing
from iotwarden.inventory.modelnames import unify
from iotwarden.inventory.weighing import COMPONENT_TYPES, MAX_EVIDENCE_PER_CONCLUSION, MIN_CONFIDENCE
from iotwarden.kb.index import KnowledgeBase, Match
from iotwarden.model import Device
from iotwarden.model.device import CLASSIFIED_FIELDS, Conclusion

OUI_VENDOR_WEIGHT = 0.5  # the IEEE registry names who bought the MAC block: often, not always, the maker
TICK_INTERVAL_S = 60.0  # capture seconds between incremental passes over changed devices
OUI_RULE = "mac.oui.registry"
OUI_REFERENCE = "IEEE Registration Authority MA-L/MA-M/MA-S assignment (IEEE 802-2014 §8.2)"
APP_REACHABLE = "app_reachable"  # kb/schema.py BEHAVIOURS: a brand's cloud its app reaches too
PRINTER_ANNOUNCEMENT = "printer_announcement"  # kb/schema.py BEHAVIOURS: a printer's Bonjour, a sharing host's too
PRINT_SHARING = "print_sharing"  # kb/schema.py BEHAVIOURS: a key only a host sharing a print queue announces
PRINTER_TYPE = "printer"  # taxonomy type (with its descendants) a printer's own sign names (see the notes)
CONTROLLER_TYPES = frozenset({"mobile_phone", "workstation", "server"})  # with descendants: run brands' apps
CONTROLLER_OS = frozenset({"Android", "iOS", "iPadOS", "macOS", "Windows"})  # systems of phones and computers
APP_HOST_TYPES = frozenset({"smart_tv", "media_player"})  # with descendants: run apps, yet are their maker's goods
IOT_CATEGORY = "iot"  # taxonomy category of the goods brands' clouds serve
MIN_CONTROLLER_BRANDS = 3  # unrelated brands' clouds that make a device a controller (see the notes)
# An operating system only IT machines run says the category when nothing else does (see the notes): Windows (its
# desktop and server editions; Windows CE is the kb's os "Windows CE") and macOS. It yields to any evidence of a
# category whose machines run Windows too (an HMI, an engineering station, a modality's console, a BMS server).
IT_OS = frozenset({"Windows", "macOS"})
IT_OS_RULE = "os.it_system"
IT_OS_WEIGHT = 0.5  # MIN_CONFIDENCE: concludes it alone, and any other category's evidence is counted before it
IT_OS_YIELDS_TO = frozenset({"ot", "medical", "building"})
# the DHCP vendor class (option 60, RFC 2132 §9.13) is a string the client chooses: embedded stacks copy Windows'
# 'MSFT 5.0' / 'MSFT 98' (satori dhcp.xml: a TRENDnet IP camera, an Xbox), while Windows' request list (option 55),
# its build, its SMB/NetBIOS/Kerberos facts are its own stack's. A system only these (or a User-Agent) state is no
# os.it_system evidence against a kind or category of another category the device's evidence concludes (see the notes)
COPIED_OS_ATTRIBUTES = frozenset({"dhcp.vendor_class", "dhcpv6.vendor_class", "http.user_agent"})
IT_SYSTEM = "it_system"  # kb/schema.py BEHAVIOURS: a type read from the system's edition or build (see the notes)
USER_AGENT = "http.user_agent"  # client-chosen text (see the notes): yields to the device's own stack
IT_CATEGORY = "it"  # taxonomy category of the phones, computers and servers a browser User-Agent names
IT_OS_REFERENCE = ("Microsoft Learn, Windows release information (learn.microsoft.com/windows/release-health): "
                   "Windows' editions are client (Home, Pro, Enterprise) and server (Windows Server) ones; Apple, "
                   "macOS (support.apple.com/macos) runs on Mac computers only")

# the weighing's names (inventory/weighing.py, split from this module) stay importable from here
__all__ = ["APP_REACHABLE", "COMPONENT_TYPES", "MAX_EVIDENCE_PER_CONCLUSION", "MIN_CONFIDENCE", "MIN_CONTROLLER_BRANDS",
           "TICK_INTERVAL_S", "Classifier", "DeviceClassifier"]


class Classifier:
    """Turns a device's attributes into Conclusions (pure: no I/O, no state between devices)."""

    def __init__(self, kb: KnowledgeBase | None = None, *, min_confidence: float = MIN_CONFIDENCE) -> None:
        if not 0.0 < min_confidence <= 1.0:
            raise ValueError(f"min_confidence {min_confidence}: must be in (0, 1]")
        self.kb = kb or KnowledgeBase.load()
        self.min_confidence = min_confidence

    def matches(self, device: Device) -> list[Match]:
        """Every piece of evidence for ``device``: kb rules and the MAC's registry vendor."""
        found = self.kb.match_device(device.attributes, mac=device.mac)
        info = self.kb.oui.info(device.mac) if device.mac else None
        if info is not None and info.vendor and not info.randomised:
            found.append(Match(OUI_RULE, "mac.oui_vendor", info.vendor, {"vendor": info.vendor},
                               OUI_VENDOR_WEIGHT, OUI_REFERENCE, "oui"))
        return found

    def classify(self, device: Device) -> dict[str, Conclusion]:
        """The conclusions for ``device``, keyed by property; a property left out is unknown."""
        matches, shared = self._shared_printer_evidence(self.matches(device))
        matches, masked, unconfirmed = self._user_agent_evidence(matches)
        matches, controlled = self._controller_evidence(matches)
        out: dict[str, Conclusion] = {}
        for prop in CLASSIFIED_FIELDS:
            if prop in ("device_type", "category"):
                continue
            if prop == "vendor":
                counted, yielded = self._vendor_evidence(matches)
                yielded += controlled + shared + masked
                found = weighing.conclude(self.min_confidence, prop, weighing.support_of(prop, counted),
                                          counted + yielded, discount=True)
            elif prop == "model":  # one spelling per model, only from evidence about this vendor's product
                vendor = out["vendor"].value if "vendor" in out else None
                stated = unify(matches, vendor, self.kb.vendor_names)
                found = weighing.conclude(self.min_confidence, prop, weighing.support_of(prop, stated), stated)
            else:
                found = weighing.conclude(self.min_confidence, prop, weighing.support_of(prop, matches), matches)
            if found is not None:
                out[prop] = found
        kinds = self._it_system_evidence(self._system_only(matches, unconfirmed), out.get("os"), bool(unconfirmed))
        dtype, category = weighing.kind(self.kb.taxonomy, self.min_confidence, kinds)
        if dtype is not None:
            out["device_type"] = dtype
        if category is not None:
            out["category"] = category
        return out

    def _it_system_evidence(self, matches: list[Match], os: Conclusion | None, guess: bool = False) -> list[Match]:
        """The evidence for the type and category: ``matches`` and, when the concluded system is one of IT machines
        (IT_OS), unless only a User-Agent nothing of the device's own confirms states it (``guess``), its evidence
        for category it. When the device's evidence names a category whose machines run such
        a system too (IT_OS_YIELDS_TO: OT, medical, building), the system says nothing: no category evidence, and
        the matches typing the host by its system's edition or build (IT_SYSTEM) yield."""
        taxonomy = self.kb.taxonomy
        for m in matches:
            tid = m.conclusions.get("device_type")
            if m.conclusions.get("category") in IT_OS_YIELDS_TO or (
                    tid and taxonomy.get(tid) is not None and taxonomy.category_of(tid) in IT_OS_YIELDS_TO):
                return [m for m in matches if m.behaviour != IT_SYSTEM]
        if os is None or os.value not in IT_OS or (guess and not any(
                e["agrees"] and e["attribute"] != USER_AGENT for e in os.evidence)):  # an unconfirmed User-Agent's
            return matches
        if not any(e["agrees"] and e["attribute"] not in COPIED_OS_ATTRIBUTES for e in os.evidence) and (
                self._other_kind(matches)):  # a vendor class an embedded stack copies, under a camera maker's block
            return matches
        return [*matches, Match(IT_OS_RULE, "os", os.value, MappingProxyType({"category": "it"}), IT_OS_WEIGHT,
                                IT_OS_REFERENCE, "inventory/classifier.py")]

    def _other_kind(self, matches: list[Match]) -> bool:
        """Whether ``matches`` conclude a kind, or a category, other than it (a camera maker's block's camera)."""
        kind, category = self._device_type(matches), self._category(matches)
        taxonomy = self.kb.taxonomy
        return (kind is not None and taxonomy.get(kind.value) is not None
                and taxonomy.category_of(kind.value) != IT_CATEGORY) or (
            category is not None and category.value != IT_CATEGORY)

    def _device_type(self, matches: list[Match]) -> Conclusion | None:
        return weighing.device_type(self.kb.taxonomy, self.min_confidence, matches)

    def _category(self, matches: list[Match]) -> Conclusion | None:
        return weighing.category(self.kb.taxonomy, self.min_confidence, matches)

    def _user_agent_evidence(self, matches: list[Match]) -> tuple[list[Match], list[Match], list[Match]]:
        """The matches that are evidence about the device; the User-Agent ones naming an IT machine (IT_OS, a
        CONTROLLER_TYPES kind) that the device's own stack contradicts: its other evidence best supports a system
        not of IT_OS, or concludes a kind or a category other than it; and those of the rest that nothing of its own
        confirms, no system, kind or category (see the notes at the top of this module): they say a system only."""
        taxonomy = self.kb.taxonomy
        masks = [m for m in matches if m.attribute == USER_AGENT and self._it_machine(m)]
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
        kind = self._device_type(own)
        category = self._category(own)
        if not (kind is None or taxonomy.get(kind.value) is None
                or taxonomy.category_of(kind.value) == IT_CATEGORY) or (
                category is not None and category.value != IT_CATEGORY):  # an IoT kind, a miIO device's iot
            return [m for m in matches if m not in masks], masks, []
        if os is not None and os not in IT_OS:
            # another system than the one a mask states (an iPhone's Safari on its iOS request list agrees)
            masks = [m for m in masks if m.conclusions.get("os") != os]
            return [m for m in matches if m not in masks], masks, []
        if os is not None or kind is not None or any(self._it_sign(m) for m in own):
            return matches, [], []  # its own system, kind or sign of an IT machine (a CUPS queue it shares) agrees
        return matches, [], masks  # nothing of its own to confirm or contradict: a system guess, no kind, no category

    def _it_sign(self, match: Match) -> bool:
        """Whether ``match`` says category it, directly or by its type, however weakly."""
        tid = match.conclusions.get("device_type")
        taxonomy = self.kb.taxonomy
        return match.conclusions.get("category") == IT_CATEGORY or bool(
            tid and taxonomy.get(tid) is not None and taxonomy.category_of(tid) == IT_CATEGORY)

    @staticmethod
    def _system_only(matches: list[Match], unconfirmed: list[Match]) -> list[Match]:
        """``matches`` with the ``unconfirmed`` User-Agent ones concluding neither a type nor a category."""
        if not unconfirmed:
            return matches
        return [replace(m, conclusions=MappingProxyType({k: v for k, v in m.conclusions.items()
                                                         if k not in ("device_type", "category")}))
                if m in unconfirmed else m for m in matches]

    def _shared_printer_evidence(self, matches: list[Match]) -> tuple[list[Match], list[Match]]:
        """The matches that are evidence about the device, and the printer announcements that describe a printer it
        shares: all of them when it announces a print_sharing key, or when it shows an IT machine (its system, a
        computer's kind, a browser's User-Agent) and no sign of a printer's own (see the notes at the top)."""
        announced = [m for m in matches if m.behaviour == PRINTER_ANNOUNCEMENT]
        if not announced:
            return matches, []
        if not any(m.behaviour == PRINT_SHARING for m in matches):
            rest = [m for m in matches if m.behaviour not in (PRINTER_ANNOUNCEMENT, APP_REACHABLE)]
            taxonomy = self.kb.taxonomy
            printer = {PRINTER_TYPE, *(t for t in taxonomy.types if PRINTER_TYPE in taxonomy.ancestors(t))}
            if not any(self._it_machine(m) for m in rest) or any(
                    m.conclusions.get("device_type") in printer and not weighing.is_component(m) for m in rest):
                return matches, []
        return [m for m in matches if m.behaviour != PRINTER_ANNOUNCEMENT], announced

    def _it_machine(self, match: Match) -> bool:
        """Whether ``match`` says an IT machine: a system of IT_OS or a kind of CONTROLLER_TYPES (or below)."""
        tid = match.conclusions.get("device_type")
        taxonomy = self.kb.taxonomy
        return match.conclusions.get("os") in IT_OS or bool(
            tid and taxonomy.get(tid) is not None and {tid, *taxonomy.ancestors(tid)} & CONTROLLER_TYPES)

    def _controller_evidence(self, matches: list[Match]) -> tuple[list[Match], list[Match]]:
        """The matches that are evidence about the device, and the app_reachable ones that are a
        controller's (its apps' or integrations' clouds: see the notes at the top of this module)."""
        app = [m for m in matches if m.behaviour == APP_REACHABLE]
        if not app:
            return matches, []
        own = [m for m in matches if m.behaviour != APP_REACHABLE]
        kind = self._device_type(own)
        kinds = {kind.value, *self.kb.taxonomy.ancestors(kind.value)} if kind is not None else set()
        names = self.kb.vendor_names
        makers = {v for m in own if (v := names.canonical(m.conclusions.get("vendor") or ""))
                  and not names.part_maker(v)}
        if kinds & CONTROLLER_TYPES:  # (1) a phone, tablet, computer or server: its maker's clouds name the maker
            return self._makers_apps(own, app, makers)
        runs_apps = self._controller_os(own) or len(self._brands(app)) >= MIN_CONTROLLER_BRANDS
        host = bool(kinds & APP_HOST_TYPES)
        if runs_apps and not (host and makers):  # (1) its system, (2) three brands' clouds; (4) no maker to keep
            return self._makers_apps(own, app, makers)
        if not makers:  # behind a part maker's block (or none): the cloud names the brand
            return matches, []
        # (3) the maker the device's own evidence names, when not a part maker: a cloud of a brand unrelated to it
        # is its app's, unless the device's product evidence shows an IoT product (a Lumi-built Xiaomi gateway
        # states its miIO name) that runs no apps; (4) on a device running apps by its kind (a TV, player or
        # speaker) or on a maker of phones and computers, a cloud of a brand related to the maker names the maker
        hosts_apps = host or runs_apps
        category = self._category([m for m in own if not weighing.is_component(m)])
        iot = category is not None and category.value == IOT_CATEGORY and not hosts_apps
        # on a controller maker's block a related brand's cloud is the maker's app's or the maker's goods', unless the
        # device's own evidence shows an IoT product (a Nest camera's own camera service on a Google block)
        repoint = hosts_apps or (not iot and any(v in self._controller_makers for v in makers))
        out, yielded = [], []
        for m in matches:
            brand = names.canonical(m.conclusions.get("vendor") or "") if m.behaviour == APP_REACHABLE else ""
            maker = self._related_maker(brand, makers)
            if m.behaviour != APP_REACHABLE or brand in makers or (maker is None and iot):
                out.append(m)
            elif maker is None:
                yielded.append(m)
            elif repoint:  # the maker's own goods or its app: the maker either way, not the brand's kind
                out.append(replace(m, conclusions=MappingProxyType({"vendor": maker})))
            else:  # a brand's product on its owner's block (a Nest camera's own service on a Google block)
                out.append(m)
        return out, yielded

    def _makers_apps(self, own: list[Match], app: list[Match], makers: set[str]) -> tuple[list[Match], list[Match]]:
        """A controller's evidence: its own, and each app_reachable match of a brand related to a maker its own
        evidence names (a Galaxy running the SmartCam app, a Pixel running the Nest app) naming that maker and
        nothing else; the app_reachable matches of other brands yield (its apps')."""
        out, yielded = list(own), []
        for m in app:
            maker = self._related_maker(self.kb.vendor_names.canonical(m.conclusions.get("vendor") or ""), makers)
            if maker is None:
                yielded.append(m)
            else:
                out.append(replace(m, conclusions=MappingProxyType({"vendor": maker})))
        return out, yielded

    def _related_maker(self, brand: str, makers: set[str]) -> str | None:
        """The maker of ``makers`` that ``brand`` is, or owns or is owned by (vendor_aliases.yaml parents), if any."""
        names = self.kb.vendor_names
        return next((b for b in sorted(makers) if brand and names.related(brand, b)), None)

    @cached_property
    def _controller_makers(self) -> frozenset[str]:
        """Makers whose products the knowledge base types as phones, tablets, computers or servers (an
        iPhone's or a Galaxy's host name, a NAS's registry block): a device of theirs may run brands' apps."""
        taxonomy, names = self.kb.taxonomy, self.kb.vendor_names
        return frozenset(
            names.canonical(v) for r in self.kb.rules
            if (v := r.conclusions.get("vendor")) and "{" not in v and (t := r.conclusions.get("device_type"))
            and taxonomy.get(t) is not None and {t, *taxonomy.ancestors(t)} & CONTROLLER_TYPES)

    def _controller_os(self, matches: list[Match]) -> bool:
        """Whether ``matches`` (no app_reachable ones) conclude an operating system of phones and computers."""
        os = weighing.conclude(self.min_confidence, "os", weighing.support_of("os", matches), matches)
        return os is not None and os.value in CONTROLLER_OS

    def _brands(self, matches: list[Match]) -> set[str]:
        """The unrelated brands ``matches`` name: the company owning each (vendor_aliases.yaml parents),
        so that Ring, Blink and Alexa's clouds, all Amazon's, count as one."""
        names = self.kb.vendor_names
        return {names.owners(names.canonical(v))[-1] for m in matches if (v := m.conclusions.get("vendor"))}

    def _vendor_evidence(self, matches: list[Match]) -> tuple[list[Match], list[Match]]:
        """The matches that count for a vendor, and those that yield (kept to explain, never counted).

        MAC evidence for the owner of a brand the product evidence names is evidence for that brand;
        MAC evidence for a part maker yields when product evidence names another vendor.
        """
        names = self.kb.vendor_names
        # one spelling per vendor: a name a device states about itself ('EPSON', 'Hewlett-Packard' in
        # an mDNS TXT or a regex group) is read through the same table as the registry's names
        matches = [m if names.canonical(v) == v else
                   replace(m, conclusions=MappingProxyType({**m.conclusions, "vendor": names.canonical(v)}))
                   for m in matches for v in [m.conclusions.get("vendor") or ""]]
        product: dict[str, dict[str, float]] = defaultdict(dict)
        for m in matches:
            value = m.conclusions.get("vendor")
            if value and not weighing.is_component(m):
                product[value][weighing.source(m)] = max(product[value].get(weighing.source(m), 0.0), m.weight)
        if not product:
            return matches, []
        strength = {v: weighing.noisy_or(g.values()) for v, g in product.items()}
        out, yielded = [], []
        for m in matches:
            value = m.conclusions.get("vendor")
            if not value or not weighing.is_component(m) or value in product:
                out.append(m)
                continue
            brands = [b for b in product if names.related(value, b)]
            if brands:
                brand = max(brands, key=lambda b: (strength[b], b))
                out.append(replace(m, conclusions=MappingProxyType({**m.conclusions, "vendor": brand})))
            elif names.part_maker(value):
                yielded.append(m)
            else:
                out.append(m)
        return out, yielded

class DeviceClassifier:
    """Analyzer "classifier": classifies each device whose attributes changed since its last pass (or
    that never had one), every :data:`TICK_INTERVAL_S` of capture time and at the end of input.

    A device's classification is a function of its MAC and attributes alone (:meth:`Classifier.classify`; the
    vendor table comes with the IEEE registry's spellings whether or not the registry was read, kb/oui.py
    VendorNames.load), and the inventory only ever adds attribute values to a device (a device re-keyed or
    rebuilt is a new object): the same device object with as many values as at its last pass holds the same
    values, and its classification stands; at the end, the devices no tick saw change are not classified again.
    """

    name: ClassVar[str] = "classifier"

    def __init__(self, kb: KnowledgeBase | None = None) -> None:
        self._kb = kb
        self._classifier: Classifier | None = None
        # device key -> (the device object, its attribute values) when last classified: the object itself,
        # so that a device freed and another made at its address is never taken for it; rebuilt each pass
        # from ctx.devices, so it holds as many entries as ctx.devices (the inventory's limits bound it)
        self._seen: dict[str, tuple[Device, int]] = {}
        self._next_tick = 0.0

    def load(self, ctx: Context) -> None:
        self._classifier = Classifier(self._kb)

    def _run(self, ctx: Context) -> None:
        classifier = self._classifier or Classifier(self._kb)
        self._classifier = classifier
        last, seen = self._seen, {}
        for key, dev in ctx.devices.items():
            values = sum(len(v) for v in dev.attributes.values())
            before = last.get(key)
            if before is None or before[0] is not dev or before[1] != values:
                dev.classification = classifier.classify(dev)
            seen[key] = (dev, values)
        self._seen = seen

    def on_tick(self, ctx: Context, ts: float) -> None:
        if ts >= self._next_tick:
            if self._next_tick:  # not on the first batch: too little is known yet
                self._run(ctx)
            self._next_tick = ts + TICK_INTERVAL_S

    def done(self, ctx: Context) -> None:
        self._run(ctx)  # the devices changed since their last pass, and those no pass saw
