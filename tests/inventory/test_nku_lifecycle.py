"""Inventory on the NKU lifecycle captures (issue 3: every labelled device with the right vendor and
a right type). Labels transcribed from the dataset's pcaps/device-IP.xlsx and device-list.xlsx:
192.168.1.165 is the Xiaobai Y2 camera (Xiaomi Mi Home ecosystem, brand of Chuangmi/Imilab),
192.168.1.221 the Xiaodu smart plug (Baidu's Xiaodu / DuerOS brand).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from iotwarden.services.analyze import analyze
from iotwarden.store import Store
from iotwarden.store.schema import DeviceRow
from tests.conftest import shared

CAPTURES = ("xiaobai_Y2camera_lifecycle/xiaobai_Y2camera_setup.pcap",
            "xiaodu_plug_lifecycle/xiaodu_plug_setup.pcap", "xiaodu_plug/xiaodu_plug.pcap")
# ip -> (label, vendor, acceptable device types)
LABELS = {
    "192.168.1.165": ("xiaobai_Y2camera", "Xiaomi", {"camera"}),
    "192.168.1.221": ("xiaodu_plug", "Baidu", {"smart_plug"}),
}


@cache
def _classified(workdir: str) -> dict[str, dict[str, str]]:
    paths = [shared("pcaps", "nku_lifecycle", "pcaps", *c.split("/")) for c in CAPTURES]
    store = Store(f"sqlite:///{Path(workdir) / 'nku.db'}")
    try:
        analyze(paths, store)
        with store.session() as session:
            return {ip: {k: v["value"] for k, v in (r.classification or {}).items()}
                    for r in session.query(DeviceRow) for ip in r.ips if ip in LABELS}
    finally:
        store.close()


@pytest.fixture(scope="module")
def classified(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    return _classified(str(tmp_path_factory.mktemp("nku")))


@pytest.mark.parametrize("ip", sorted(LABELS))
def test_each_labelled_device_is_found_with_its_vendor(ip: str, classified: dict[str, dict[str, str]]) -> None:
    label, vendor, _ = LABELS[ip]
    assert ip in classified, f"{label} not in the inventory"
    assert classified[ip].get("vendor") == vendor, label
    assert classified[ip].get("category") == "iot", label


def test_the_xiaobai_camera_is_a_camera(classified: dict[str, dict[str, str]]) -> None:
    # rule tls.sni.xiaomi_smartcamera: the Mi Home camera cloud API it logs in to
    assert classified["192.168.1.165"].get("device_type") == "camera"


@pytest.mark.xfail(strict=True, reason=(
    "the plug's traffic names only Baidu's DuerOS device cloud (xiaodu.baidu.com, duerbot-open.baidu.com, "
    "duer-smart-device.cdn.bcebos.com, ota.baidu.com), which Xiaodu speakers, clocks, plugs and sensors share; "
    "besides it sends a DLNA control point's M-SEARCH (Platinum UPnP SDK) and an undocumented beacon to "
    "239.255.0.100:19704, nothing plug-specific; its volume (~1 MB an hour) has no published baseline that "
    "separates a plug from a speaker, so the type stays unknown rather than guessed"))
def test_the_xiaodu_plug_is_a_smart_plug(classified: dict[str, dict[str, str]]) -> None:
    assert classified["192.168.1.221"].get("device_type") == "smart_plug"


def test_the_xiaodu_plug_is_not_guessed_a_speaker(classified: dict[str, dict[str, str]]) -> None:
    # the DuerOS cloud serves every Xiaodu product: it names the vendor and category, never the kind
    assert classified["192.168.1.221"].get("device_type") is None
