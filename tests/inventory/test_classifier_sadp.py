"""Hikvision SADP evidence from the wire to the classifier: a capture of a search and its answers goes through
the engine (udp/37020 multicast), the identity rules and the inventory builder, and each device that answers gets
the vendor, model, firmware and type kb/data/rules/sadp.yaml say, each with its reference; the searcher gets none."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from iotwarden.dissect.sadp import SadpDissector
from iotwarden.engine.core import Engine
from iotwarden.hooks import Context
from iotwarden.inventory.builder import InventoryBuilder
from iotwarden.inventory.classifier import Classifier
from iotwarden.kb import KnowledgeBase
from iotwarden.model import Device, Observation
from iotwarden.sources.capfile import read_capture
from tests.dissect.discovery import udp as udp_packet
from tests.dissect.test_sadp import DVR_PROBE_MATCH, INQUIRY, camera_probe_match
from tests.services.builders import udp, write_pcap

GROUP, GROUP_MAC = "239.255.255.250", "01:00:5e:7f:ff:fa"  # SADP's multicast group (hikvision-tooling scanner.go)
PC = ("02:00:00:00:00:50", "192.0.2.50")  # the SADP tool's host
CAMERA = ("02:00:00:00:00:64", "192.0.2.64")
DVR = ("02:00:00:00:00:65", "192.0.2.65")
LOCAL_MAC = "02:00:00:00:00:0a"  # locally administered: the IEEE registry names no vendor


@cache
def _classifier() -> Classifier:
    return Classifier(KnowledgeBase.load())


def _engine_observations(path: Path) -> list[Observation]:
    engine, out = Engine(), []
    for batch in read_capture(path):
        out += engine.process(batch).observations
    return out + engine.flush().observations


def _devices(observations: list[Observation]) -> dict[str, Device]:
    ctx, inv = Context(), InventoryBuilder()
    for o in observations:
        inv.on_observation(ctx, o)
    for dev in ctx.devices.values():
        dev.classification = _classifier().classify(dev)
    return ctx.devices


def _evidence(dev: Device, prop: str) -> set[str]:
    if prop not in dev.classification:
        return set()
    return {str(e["rule_id"]) for e in dev.classification[prop].evidence if e["agrees"] and e["reference"]}


def _search_capture(path: Path) -> Path:
    t = 1_700_000_000.0
    return write_pcap(path, [
        (t, udp((PC[0], GROUP_MAC, PC[1], GROUP, 37020, 37020), INQUIRY)),
        (t + 0.1, udp((CAMERA[0], GROUP_MAC, CAMERA[1], GROUP, 37020, 37020), camera_probe_match())),
        (t + 0.2, udp((DVR[0], PC[0], DVR[1], PC[1], 37020, 37020), DVR_PROBE_MATCH)),
    ])


def test_a_search_and_its_answers_through_the_engine(tmp_path: Path) -> None:
    obs = [o for o in _engine_observations(_search_capture(tmp_path / "sadp.pcap")) if o.proto == "sadp"]
    assert [(o.kind, o.src_ip) for o in obs] == [("inquiry", PC[1]), ("probe_match", CAMERA[1]),
                                                  ("probe_match", DVR[1])]
    devices = _devices(obs)
    cam, dvr, pc = (devices[f"mac:{m}"] for m in (CAMERA[0], DVR[0], PC[0]))
    assert (cam.vendor, cam.device_type, cam.conclusion("model"), cam.conclusion("firmware")) == (
        "Hikvision", "camera", "DS-2CD2142FWD-I", "V5.5.0")
    assert (dvr.vendor, dvr.device_type, dvr.conclusion("model"), dvr.conclusion("firmware")) == (
        "Hikvision", "nvr", "DS-7804HQH-K1", "V3.5.38")
    assert dvr.attributes["sadp.device_sn"] == {"DS-7804HQH-K10420190822CCCHD53257168WCVU"}
    assert _evidence(cam, "device_type") == {"sadp.model.hikvision_camera"}
    assert _evidence(dvr, "device_type") == {"sadp.model.hikvision_dvr"}
    for dev in (cam, dvr):
        assert {"sadp.answer.hikvision"} <= _evidence(dev, "vendor")
        assert "sadp.model" in _evidence(dev, "model") and "sadp.firmware" in _evidence(dev, "firmware")
    # the searcher: SADP is among what it speaks, but nothing it sent describes it
    assert "sadp" in pc.protocols
    assert not {a for a in pc.attributes if a.startswith("sadp.")}
    assert (pc.vendor, pc.device_type) == (None, None)


def test_nothing_of_the_answer_that_is_no_identity_becomes_an_attribute(tmp_path: Path) -> None:
    devices = _devices(_engine_observations(_search_capture(tmp_path / "sadp.pcap")))
    dvr = devices[f"mac:{DVR[0]}"]
    sadp = {a for a in dvr.attributes if a.startswith("sadp.")}
    assert sadp == {"sadp.device_description", "sadp.device_type", "sadp.device_sn", "sadp.sn_model",
                    "sadp.software_version", "sadp.dsp_version", "sadp.oem_info"}


def _device_of(payload: bytes) -> Device:
    pkt = udp_packet(payload, 37020, 37020, dst_ip=GROUP)
    pkt.src_mac = LOCAL_MAC
    return _devices(SadpDissector().dissect(pkt, {}))[f"mac:{LOCAL_MAC}"]


@pytest.mark.parametrize(("model", "device_type"), [
    ("DS-2CD2143G2-I", "camera"), ("DS-2DE4425IW-DE", "camera"), ("DS-2TD1228-2-QA", "camera"),
    ("DS-7608NI-I2", "nvr"), ("DS-7732NI-M4", "nvr"), ("DS-96128NI-I16/H", "nvr"), ("DS-7716NXI-I4/S", "nvr"),
    ("DS-7204HGHI-K1", "nvr"), ("DS-7316HQHI-K4", "nvr"), ("DS-8104HQHI-K8", "nvr"), ("DS-9016HUHI-K8", "nvr"),
    ("iDS-7204HQHI-M1/S", "nvr"),
])
def test_hikvision_model_numbers_name_the_kind(model: str, device_type: str) -> None:
    dev = _device_of(camera_probe_match(model))
    assert (dev.vendor, dev.device_type, dev.conclusion("model")) == ("Hikvision", device_type, model)


@pytest.mark.parametrize("model", ["DS-K1T671M", "DS-3E0105P-E", "IPC-B140H"])
def test_a_model_outside_the_cited_numbering_gets_no_type_from_it(model: str) -> None:
    # an access terminal, a switch, a HiLook-style name: the vendor and model stand, the kind is not guessed
    dev = _device_of(camera_probe_match(model))
    assert dev.vendor == "Hikvision" and dev.conclusion("model") == model
    assert not _evidence(dev, "device_type")


def test_a_firmware_without_the_build_form_names_no_firmware() -> None:
    dev = _device_of(camera_probe_match().replace(b"V5.5.0build 170725", b"unknown"))
    assert dev.conclusion("firmware") is None
