"""A type stated with a model wins over model-less leans however many agree (inventory/weighing.py
device_type), but one weak model statement does not override a rival that one model-less source alone states
more strongly: a Mac sharing its printer over Bonjour stays a laptop."""

from __future__ import annotations

from iotwarden.inventory import weighing
from iotwarden.kb.index import Match
from iotwarden.kb.taxonomy import Taxonomy
from tests.inventory.test_classifier_enterprise import concluded, rules_for, stating

APPLE_MAC = "3c:22:fb:00:00:01"  # Apple, Inc. (IEEE MA-L 3C22FB)
TAXONOMY = Taxonomy.load()


def match(rule: str, attribute: str, weight: float, **conclusions: str) -> Match:
    return Match(rule, attribute, "x", conclusions, weight, "ref", "test.yaml")


def test_a_mac_sharing_a_printer_stays_a_laptop() -> None:
    # macOS printer sharing announces the shared queue's _ipp._tcp with 'ty=<printer make and model>'
    # (Bonjour Printing Specification 1.2 §9.2.4); the Mac's own model=MacBookPro (0.8) says what it is
    dev = stating(APPLE_MAC, mdns__txt=["model=MacBookPro18,3", "ty=HP LaserJet Pro M404dn"],
                  mdns__services=["_ipp._tcp.local", "_device-info._tcp.local", "_companion-link._tcp.local"],
                  dhcp__hostname="Johns-MacBook-Pro")
    found = concluded(dev)
    assert (found["vendor"], found["device_type"]) == ("Apple", "laptop")
    assert "mdns.txt.model_macbook" in rules_for(dev, "device_type")


def test_a_printer_announcing_its_model_stays_a_printer() -> None:
    dev = stating("", mdns__txt=["ty=HP LaserJet Pro M404dn"], mdns__services=["_ipp._tcp.local"])
    assert concluded(dev)["device_type"] == "printer"


def test_a_weak_model_statement_does_not_override_a_stronger_single_rival() -> None:
    ty = match("mdns.txt.ipp_ty_model", "mdns.txt", 0.6, device_type="printer", model="HP LaserJet Pro M404dn")
    mac = match("mdns.txt.model_macbook", "mdns.txt", 0.8, device_type="laptop")
    found = weighing.device_type(TAXONOMY, 0.5, [ty, mac])
    assert found is not None and found.value == "laptop"
    # the same statement at least as strong as the strongest single lean still wins over many of them
    door = match("r1", "dhcp.vendor_class", 0.8, device_type="badge_reader", model="A1001")
    leans = [match(f"lean{i}", "dhcp.hostname", 0.8, device_type="camera") for i in range(4)]
    found = weighing.device_type(TAXONOMY, 0.5, [door, *leans])
    assert found is not None and found.value == "badge_reader"
    # one lean stronger than the model statement: the lean's type, as the support says
    strong = match("lean9", "http.www_authenticate", 0.9, device_type="camera")
    found = weighing.device_type(TAXONOMY, 0.5, [door, *leans, strong])
    assert found is not None and found.value == "camera"
