"""Which devices each pass of the classifier analyzer classifies (inventory/classifier.py DeviceClassifier):
those whose attributes changed since their last pass and those no pass saw, at each tick and at the end of
input; a device that did not change keeps the classification it has, the one a new pass would give."""

from __future__ import annotations

from iotwarden.hooks import Context
from iotwarden.inventory.classifier import TICK_INTERVAL_S, Classifier, DeviceClassifier
from iotwarden.kb.index import KnowledgeBase
from iotwarden.model import Device
from iotwarden.model.device import Conclusion


class _Counting(Classifier):
    """The real classifier, noting which device keys it was asked about."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def classify(self, device: Device) -> dict[str, Conclusion]:
        self.asked.append(device.key)
        return super().classify(device)


def _device(mac: str, **attributes: set[str]) -> Device:
    return Device(key=f"mac:{mac}", first_seen=0.0, last_seen=0.0, mac=mac, attributes=dict(attributes))


def _analyzer(ctx: Context) -> tuple[DeviceClassifier, _Counting]:
    analyzer, counting = DeviceClassifier(), _Counting()
    analyzer.load(ctx)
    analyzer._classifier = counting  # the pass's classifier, counting what it is asked
    analyzer.on_tick(ctx, 0.0)  # the first batch: too little is known yet, nothing classified
    return analyzer, counting


def test_the_end_classifies_only_the_devices_changed_since_their_last_pass_and_the_new_ones() -> None:
    ctx = Context()
    printer = _device("00:00:48:00:00:01", **{"mdns.services": {"_ipp._tcp.local"}})
    camera = _device("00:40:8c:00:00:02", **{"http.server": {"Boa/0.94.14rc21"}})
    ctx.devices = {d.key: d for d in (printer, camera)}
    analyzer, counting = _analyzer(ctx)
    assert counting.asked == []
    analyzer.on_tick(ctx, TICK_INTERVAL_S)
    assert sorted(counting.asked) == sorted(ctx.devices)
    kept = printer.classification
    counting.asked.clear()
    camera.attributes["mdns.services"] = {"_axis-video._tcp.local"}  # a new fact about the camera
    late = _device("00:11:32:00:00:03", **{"dhcp.vendor_class": {"udhcp 1.19.4"}})  # seen after the tick
    ctx.devices[late.key] = late
    analyzer.done(ctx)
    assert sorted(counting.asked) == sorted([camera.key, late.key])
    assert printer.classification is kept  # unchanged, not classified again
    fresh = Classifier()
    for dev in ctx.devices.values():  # what a pass over every device would conclude
        assert dev.classification == fresh.classify(dev)


def test_a_device_rebuilt_under_its_key_is_classified_again_even_with_as_many_values() -> None:
    ctx = Context()
    first = _device("00:00:48:00:00:01", **{"mdns.services": {"_ipp._tcp.local"}})
    ctx.devices = {first.key: first}
    analyzer, counting = _analyzer(ctx)
    analyzer.on_tick(ctx, TICK_INTERVAL_S)
    rebuilt = _device("00:00:48:00:00:01", **{"mdns.services": {"_axis-video._tcp.local"}})  # a re-key's new object
    ctx.devices[rebuilt.key] = rebuilt
    counting.asked.clear()
    analyzer.done(ctx)
    assert counting.asked == [rebuilt.key]
    assert rebuilt.classification == Classifier().classify(rebuilt)


def test_a_value_added_to_an_attribute_makes_a_new_pass() -> None:
    ctx = Context()
    dev = _device("00:40:8c:00:00:02", **{"http.server": {"Boa/0.94.14rc21"}})
    ctx.devices = {dev.key: dev}
    analyzer, counting = _analyzer(ctx)
    analyzer.on_tick(ctx, TICK_INTERVAL_S)
    analyzer.on_tick(ctx, 2 * TICK_INTERVAL_S)  # nothing changed: nothing asked
    assert counting.asked == [dev.key]
    dev.attributes["http.server"].add("AXIS P1346")
    analyzer.on_tick(ctx, 3 * TICK_INTERVAL_S)
    assert counting.asked == [dev.key, dev.key]
    analyzer.done(ctx)
    assert counting.asked == [dev.key, dev.key]



def _routed_3com() -> Device:
    """A device seen only through a router (no MAC) stating its maker in another case than the IEEE registry."""
    return Device(key="ip:10.20.0.5", first_seen=0.0, last_seen=0.0, attributes={"http.upnp_manufacturer": {"3COM"}})


def _camera() -> Device:
    return _device("00:40:8c:00:00:02", **{"http.server": {"Boa/0.94.14rc21"}})


def _fresh(ctx: Context) -> tuple[KnowledgeBase, DeviceClassifier]:
    kb = KnowledgeBase.load(refresh=True)  # its registry not read yet
    analyzer = DeviceClassifier(kb)
    analyzer.load(ctx)
    analyzer.on_tick(ctx, 0.0)
    return kb, analyzer


# The registry's spelling of a vendor ('3Com') comes with the vendor table (generated/vendor_spellings.json,
# kb/oui.py VendorNames.load): it names a vendor whether or not the registry was read, which classifying the
# first device with a MAC address does.

def test_a_pass_reads_the_registry_before_it_classifies_a_device_without_a_mac() -> None:
    ctx = Context()
    routed, camera = _routed_3com(), _camera()
    ctx.devices = {routed.key: routed, camera.key: camera}  # the device without a MAC first
    kb, analyzer = _fresh(ctx)
    analyzer.on_tick(ctx, TICK_INTERVAL_S)
    assert routed.vendor == "3Com"
    analyzer.done(ctx)  # nothing changed since: no device is classified again
    assert routed.vendor == "3Com"
    for dev in ctx.devices.values():
        assert dev.classification == Classifier(kb).classify(dev)


def test_a_device_classified_before_the_registry_was_read_is_named_as_after() -> None:
    ctx = Context()
    routed = _routed_3com()
    ctx.devices = {routed.key: routed}
    kb, analyzer = _fresh(ctx)
    analyzer.on_tick(ctx, TICK_INTERVAL_S)
    assert "oui" not in vars(kb)  # no device with a MAC yet: the registry is not read (a cached property)
    assert routed.vendor == "3Com"
    kept = routed.classification
    camera = _camera()
    ctx.devices[camera.key] = camera
    analyzer.done(ctx)
    assert "oui" in vars(kb) and routed.classification is kept  # unchanged, not classified again
    for dev in ctx.devices.values():
        assert dev.classification == Classifier(kb).classify(dev)
