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
# * a printer's Bonjour evidence a host shares, and a User-Agent its programs choose, are weighed as
#   inventory/masks.py says: each yields where the device's own evidence says otherwise;
# * an operating system only IT machines run (IT_OS: Windows, macOS), once concluded, is evidence for category it
#   (IT_OS_WEIGHT, rule id os.it_system) unless any evidence names OT, medical or building automation (directly or
#   by a type of that category): an HMI, an engineering station or a modality's console runs Windows too, and such
#   evidence, however weak, is more specific than the system it runs. On such a device the rules that type a host
#   by its system's edition or build (``behaviour: it_system``: a client Windows build, which Windows IoT Enterprise
#   shares) yield too, kept to explain nothing: a panel PC on an industrial-PC maker's block is no workstation.
#   A system only a DHCP vendor class (or a User-Agent) states (COPIED_OS_ATTRIBUTES: an embedded camera sends
#   'MSFT 5.0' too) is no such evidence when the device's evidence concludes a kind or a category other than it (a
#   camera maker's block): the camera stands; Windows' request list, build or SMB facts make it the PC it says;
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
from iotwarden.inventory import masks, weighing
from iotwarden.inventory.masks import APP_REACHABLE, CONTROLLER_TYPES, IT_CATEGORY, IT_OS, USER_AGENT
from iotwarden.inventory.modelnames import unify
from iotwarden.inventory.weighing import COMPONENT_TYPES, MAX_EVIDENCE_PER_CONCLUSION, MIN_CONFIDENCE
from iotwarden.kb.index import KnowledgeBase, Match
from iotwarden.model import Device
from iotwarden.model.device import CLASSIFIED_FIELDS, Conclusion

OUI_VENDOR_WEIGHT = 0.5  # the IEEE registry names who bought the MAC block: often, not always, the maker
TICK_INTERVAL_S = 60.0  # capture seconds between incremental passes over changed devices
OUI_RULE = "mac.oui.registry"
OUI_REFERENCE = "IEEE Registration Authority MA-L/MA-M/MA-S assignment (IEEE 802-2014 §8.2)"
CONTROLLER_OS = frozenset({"Android", "iOS", "iPadOS", "macOS", "Windows"})  # systems of phones and computers
APP_HOST_TYPES = frozenset({"smart_tv", "media_player"})  # with descendants: run apps, yet are their maker's goods
IOT_CATEGORY = "iot"  # taxonomy category of the goods brands' clouds serve
MIN_CONTROLLER_BRANDS = 3  # unrelated brands' clouds that make a device a controller (see the notes)
# An operating system only IT machines run (IT_OS, inventory/masks.py: Windows, macOS) says the category when nothing
# else does (see the notes). It yields to any evidence of a category whose machines run Windows too (an HMI, an
# engineering station, a modality's console, a BMS server).
IT_OS_RULE = "os.it_system"
IT_OS_WEIGHT = 0.5  # MIN_CONFIDENCE: concludes it alone, and any other category's evidence is counted before it
IT_OS_YIELDS_TO = frozenset({"ot", "medical", "building"})
# the DHCP vendor class (option 60, RFC 2132 §9.13) is a string the client chooses: embedded stacks copy Windows'
# 'MSFT 5.0' / 'MSFT 98' (satori dhcp.xml: a TRENDnet IP camera, an Xbox), while Windows' request list (option 55),
# its build, its SMB/NetBIOS/Kerberos facts are its own stack's. A system only these (or a User-Agent) state is no
# os.it_system evidence against a kind or category of another category the device's evidence concludes (see the notes)
COPIED_OS_ATTRIBUTES = frozenset({"dhcp.vendor_class", "dhcpv6.vendor_class", "http.user_agent"})
IT_SYSTEM = "it_system"  # kb/schema.py BEHAVIOURS: a type read from the system's edition or build (see the notes)
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
        kinds = self._it_system_evidence(masks.system_only(matches, unconfirmed), out.get("os"), bool(unconfirmed))
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
        """The evidence about the device, the User-Agent masks, the unconfirmed User-Agent matches (masks.py)."""
        return masks.user_agent(self.kb.taxonomy, self.min_confidence, matches)

    def _shared_printer_evidence(self, matches: list[Match]) -> tuple[list[Match], list[Match]]:
        """The evidence about the device and the announcements of a printer it shares (masks.shared_printer)."""
        return masks.shared_printer(self.kb.taxonomy, matches)

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
