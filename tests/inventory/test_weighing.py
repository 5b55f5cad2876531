"""How evidence is weighed (inventory/weighing.py), on hand-made matches with hand-computed supports: one rule counts
once and MAC evidence is one source, independent sources reinforce by noisy-or, conflicting vendors share the
confidence by Dempster's rule, a type draws on its ancestors and a part's type yields to the product's; the
classifier's choice of which evidence counts is tests/inventory/test_classifier*.py's."""

from __future__ import annotations

import pytest

from iotwarden.inventory import weighing
from iotwarden.kb.index import Match
from iotwarden.kb.taxonomy import Taxonomy

TAXONOMY = Taxonomy.load()


def match(rule: str, attribute: str, weight: float, **conclusions: str) -> Match:
    return Match(rule, attribute, "x", conclusions, weight, "ref", "test.yaml")


def test_one_rule_counts_once_and_mac_evidence_is_one_source() -> None:
    ms = [match("r1", "dns.qname", 0.6, vendor="A"), match("r1", "tls.sni", 0.6, vendor="A"),
          match("mac.oui.registry", "mac.oui_vendor", 0.5, vendor="A"), match("r2", "mac.block", 0.3, vendor="A")]
    assert weighing.by_source("vendor", ms) == {"A": {"r1": 0.6, "mac": 0.5}}
    assert weighing.support_of("vendor", ms) == {"A": pytest.approx(1 - 0.4 * 0.5)}


def test_noisy_or_and_dempsters_share() -> None:
    assert weighing.noisy_or([0.5, 0.5]) == pytest.approx(0.75) and weighing.noisy_or([1.5, -1.0]) == 1.0
    assert weighing.share("A", {"A": 0.8}) == 0.8  # nothing conflicts: the support itself
    assert weighing.share("A", {"A": 0.8, "B": 0.5}) == pytest.approx(4 / (1 + 4 + 1))  # odds 4 and 1


def test_a_value_is_concluded_at_the_threshold_and_rivals_lower_its_confidence() -> None:
    ms = [match("r1", "dns.qname", 0.8, vendor="A"), match("r2", "http.user_agent", 0.5, vendor="B")]
    assert weighing.conclude(0.5, "vendor", {"A": 0.4}, ms) is None
    plain = weighing.conclude(0.5, "vendor", {"A": 0.8, "B": 0.5}, ms)
    shared = weighing.conclude(0.5, "vendor", {"A": 0.8, "B": 0.5}, ms, discount=True)
    assert plain is not None and (plain.value, plain.confidence) == ("A", 0.8)
    assert shared is not None and shared.confidence == pytest.approx(2 / 3)
    assert [(e["concludes"], e["agrees"]) for e in shared.evidence] == [("A", True), ("B", False)]


def test_a_type_draws_on_its_ancestors_and_a_parts_type_yields() -> None:
    ms = [match("r1", "mdns.service", 0.3, device_type="doorbell"), match("r2", "dns.qname", 0.4, device_type="camera")]
    found = weighing.device_type(TAXONOMY, 0.5, ms)
    assert found is not None and (found.value, found.confidence) == ("doorbell", pytest.approx(1 - 0.7 * 0.6))
    assert all(e["agrees"] for e in found.evidence)  # camera is the doorbell's ancestor
    part = [match("r1", "dhcp.hostname", 0.9, device_type="iot_module"), match("r2", "dns.qname", 0.6,
                                                                                device_type="camera")]
    found = weighing.device_type(TAXONOMY, 0.5, part)
    assert found is not None and found.value == "camera"


def test_the_product_s_own_type_wins_over_a_block_s_kind() -> None:
    # Roku's block says media_player (0.6) and DIAL leans that way (0.4 each: first screens are TVs and players
    # alike); the TV's own host name says smart_tv (0.7). The block only backed the players' side (was: media_player)
    block = match("mac.vendor.roku", "mac.oui_vendor", 0.6, device_type="media_player")
    tv = match("dhcp.hostname.roku_tv", "dhcp.hostname", 0.7, device_type="smart_tv")
    dial = [match("ssdp.type.dial_usn", "ssdp.st", 0.4, device_type="media_player"),
            match("upnp.type.dial", "http.upnp_device_type", 0.4, device_type="media_player")]
    for ms in ([block, tv, dial[0]], [block, tv, *dial]):
        found = weighing.device_type(TAXONOMY, 0.5, ms)
        assert found is not None and (found.value, found.confidence) == ("smart_tv", 0.7), len(ms)
    # the block still counts: alone, and beside product evidence too weak to conclude alone or agreeing with it
    found = weighing.device_type(TAXONOMY, 0.5, [block, dial[0]])
    assert found is not None and (found.value, found.confidence) == ("media_player", pytest.approx(1 - 0.4 * 0.6))
    stick = match("dhcp.hostname.roku_stick", "dhcp.hostname", 0.7, device_type="streaming_stick")
    found = weighing.device_type(TAXONOMY, 0.5, [block, stick])
    assert found is not None and (found.value, found.confidence) == ("streaming_stick", pytest.approx(1 - 0.3 * 0.4))
    # two types the product's own evidence supports: the product's evidence decides, the block adds to its side
    weak_tv = match("r3", "http.upnp_model_name", 0.55, device_type="smart_tv")
    found = weighing.device_type(TAXONOMY, 0.5, [block, weak_tv, *dial])
    assert found is not None and found.value == "media_player"  # 0.64 of the product's own against 0.55


def test_a_type_the_product_states_with_its_model_wins_over_model_less_leans() -> None:
    # an Axis door controller's product type (0.95, with its model) against Axis's camera-wide signs, which
    # together (0.8, 0.9, 0.9) reach 0.998: the product naming itself decides (was: camera)
    door = match("dhcp.vendor_class.axis_door_controller", "dhcp.vendor_class", 0.95, device_type="badge_reader",
                 model="A1001")
    leans = [match("dhcp.hostname.axis", "dhcp.hostname", 0.8, device_type="camera"),
             match("http.realm.axis", "http.www_authenticate", 0.9, device_type="camera"),
             match("mdns.service.axis_video", "mdns.services", 0.9, device_type="camera"),
             match("mac.vendor.axis", "mac.oui_vendor", 0.5, device_type="camera")]
    found = weighing.device_type(TAXONOMY, 0.5, [door, *leans])
    assert found is not None and (found.value, found.confidence) == ("badge_reader", 0.95)
    # a model statement below the threshold decides nothing; one with no kind is no statement of a kind
    weak = match("r1", "dhcp.vendor_class", 0.45, device_type="badge_reader", model="A1001")
    found = weighing.device_type(TAXONOMY, 0.5, [weak, *leans])
    assert found is not None and found.value == "camera"
    # a finer type draws on its ancestor's model statement (an MFP whose printer model is stated stays an MFP)
    printer = match("http.server.hp_printer", "http.server", 0.9, device_type="printer", model="LaserJet M479")
    scan = match("wsd.type.scan_device_mfp", "wsd.types", 0.6, device_type="mfp")
    found = weighing.device_type(TAXONOMY, 0.5, [printer, scan])
    assert found is not None and found.value == "mfp"
    # two model statements: as before, the product's own evidence decides
    camera = match("r2", "dhcp.vendor_class", 0.8, device_type="camera", model="P3301")
    found = weighing.device_type(TAXONOMY, 0.5, [door, camera, *leans])
    assert found is not None and found.value == "camera"


def test_a_category_draws_on_type_evidence_and_category_rules() -> None:
    ms = [match("r1", "dns.qname", 0.6, device_type="doorbell"), match("r2", "modbus.unit", 0.55, category="ot")]
    found = weighing.category(TAXONOMY, 0.5, ms)
    assert found is not None and (found.value, found.confidence) == ("iot", 0.6)
    assert [(e["concludes"], e["agrees"]) for e in found.evidence] == [("iot", True), ("ot", False)]
    assert weighing.category(TAXONOMY, 0.7, ms) is None
