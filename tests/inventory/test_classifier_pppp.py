"""The classifier on PPPP (CS2/iLnkP2P, dissect/pppp.py): a device that logs in to PPPP P2P servers is typed a
camera (kb/data/rules/pppp.yaml), its UID kept when it sends it in clear; the app's phone, which searches,
punches and asks the server for a device, and the servers answering, are never typed by it. Real data: the
Xiaobai Y2 camera of the NKU lifecycle captures (its logins are DEV_LGN_CRC, bodies obfuscated)."""

from __future__ import annotations

import struct
from pathlib import Path

from iotwarden.addons import default_analyzers
from iotwarden.model import Device
from tests.conftest import shared
from tests.risk.harness import run_capture
from tests.services.builders import Frame, udp, write_pcap

XIAOBAI = "pcaps/nku_lifecycle/pcaps/xiaobai_Y2camera_lifecycle"
XIAOBAI_IP = "192.168.1.165"
# locally administered MACs (IEEE 802 §8.2.2: no maker), so PPPP is the only evidence of what they are
CAMERA_MAC, PHONE_MAC, GATEWAY_MAC = "0a:00:00:00:00:20", "0a:00:00:00:00:10", "0e:00:00:00:00:01"
CAMERA_IP, PHONE_IP, SERVER_IP = "192.168.7.20", "192.168.7.10", "203.0.113.50"


def inventory(path: Path) -> dict[str, Device]:
    """The devices the default analyzers make of a capture (engine, inventory, classifier)."""
    return run_capture(path, default_analyzers()).devices


def message(msg_type: int, body: bytes = b"") -> bytes:
    """pppp.fdesc T_message_header (0xF1, type, 16-bit big-endian size) and the body."""
    return struct.pack(">BBH", 0xF1, msg_type, len(body)) + body


UID = b"VSTC\0\0\0\0" + struct.pack(">I", 123456) + b"ABCDE\0\0\0"  # pppp.fdesc parse_uid
LOCAL = struct.pack(">H", 2) + struct.pack("<H", 41000) + bytes([20, 7, 168, 192]) + bytes(8)  # sockaddr, LE


def built_capture(path: Path) -> Path:
    """A camera logs in to its P2P server (HELLO, DEV_LGN in clear, ALIVE-free keep-alive answers); the phone
    asks the server for it (HELLO, P2P_REQ), searches the LAN (LAN_SEARCH to 32108) and runs the session
    with it between ephemeral ports (PUNCH_PKT both ways, P2P_RDY from the camera, DRW, ALIVE)."""
    cam_srv = (CAMERA_MAC, GATEWAY_MAC, CAMERA_IP, SERVER_IP, 41000, 32100)
    srv_cam = (GATEWAY_MAC, CAMERA_MAC, SERVER_IP, CAMERA_IP, 32100, 41000)
    app_srv = (PHONE_MAC, GATEWAY_MAC, PHONE_IP, SERVER_IP, 50000, 32100)
    srv_app = (GATEWAY_MAC, PHONE_MAC, SERVER_IP, PHONE_IP, 32100, 50000)
    search = (PHONE_MAC, "ff:ff:ff:ff:ff:ff", PHONE_IP, "192.168.7.255", 50001, 32108)
    cam_app = (CAMERA_MAC, PHONE_MAC, CAMERA_IP, PHONE_IP, 41001, 50001)
    app_cam = (PHONE_MAC, CAMERA_MAC, PHONE_IP, CAMERA_IP, 50001, 41001)
    sequence = [
        (cam_srv, message(0x00)), (srv_cam, message(0x01, LOCAL)),
        (cam_srv, message(0x10, UID + bytes([2, 3, 4, 5]) + LOCAL)), (srv_cam, message(0x11, bytes(4))),
        (app_srv, message(0x00)), (srv_app, message(0x01, LOCAL)),
        (app_srv, message(0x20, UID + LOCAL)), (srv_app, message(0x21, bytes(4))),
        (search, message(0x30)), (cam_app, message(0x41, UID)), (app_cam, message(0x41, UID)),
        (cam_app, message(0x42, UID)), (app_cam, message(0xD0, bytes([0xD1, 0, 0, 0]) + b"{}")),
        (cam_app, message(0xE0)), (app_cam, message(0xE1)),
    ]
    frames: list[Frame] = [(1_700_000_000.0 + i / 10, udp(ends, data)) for i, (ends, data) in enumerate(sequence)]
    return write_pcap(path, frames)


def test_a_device_logging_in_to_pppp_servers_is_a_camera_and_the_phone_is_not(tmp_path: Path) -> None:
    devices = inventory(built_capture(tmp_path / "pppp.pcap"))
    camera, phone = devices[f"mac:{CAMERA_MAC}"], devices[f"mac:{PHONE_MAC}"]
    assert camera.attributes["pppp.role"] == {"device"}
    assert camera.attributes["pppp.did"] == {"VSTC-123456-ABCDE"}
    assert camera.attributes["pppp.did_prefix"] == {"VSTC"}
    assert camera.attributes["pppp.api_version"] == {"3.4.5"}
    assert (camera.device_type, camera.category) == ("camera", "iot")
    assert camera.vendor is None  # no public table maps a UID prefix to a maker
    assert "pppp" in phone.protocols
    assert not {name for name in phone.attributes if name.startswith("pppp.")}
    assert phone.device_type != "camera"


def test_the_xiaobai_camera_is_a_pppp_device_and_its_servers_are_not() -> None:
    devices = inventory(shared(f"{XIAOBAI}/xiaobai_Y2camera_idle_local.pcap"))
    camera = next(d for d in devices.values() if XIAOBAI_IP in d.ips)
    assert camera.attributes["pppp.role"] == {"device"}
    assert "pppp.did" not in camera.attributes  # DEV_LGN_CRC: the UID is obfuscated
    assert camera.device_type == "camera"
    typed = [d for d in devices.values() if "pppp.role" in d.attributes]
    assert typed == [camera]


def test_the_xiaobai_camera_keeps_its_type_with_more_confidence() -> None:
    devices = inventory(shared(f"{XIAOBAI}/xiaobai_Y2camera_setup.pcap"))
    camera = next(d for d in devices.values() if XIAOBAI_IP in d.ips)
    assert (camera.vendor, camera.device_type) == ("Xiaomi", "camera")
    conclusion = camera.classification["device_type"]
    assert {e["rule_id"] for e in conclusion.evidence} == {"tls.sni.xiaomi_smartcamera", "pppp.device_login"}
    # its SNI alone concluded camera at 0.6; the login adds to it
    assert conclusion.confidence > 0.6


def test_in_a_capture_without_other_evidence_the_login_alone_types_the_xiaobai_a_camera() -> None:
    devices = inventory(shared(f"{XIAOBAI}/xiaobai_Y2camera_update.pcap"))
    camera = next(d for d in devices.values() if XIAOBAI_IP in d.ips)
    assert (camera.device_type, camera.category) == ("camera", "iot")
    assert {e["rule_id"] for e in camera.classification["device_type"].evidence} == {"pppp.device_login"}
