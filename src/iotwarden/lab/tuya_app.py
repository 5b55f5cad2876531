"""Tuya local discovery in the lab: a Tuya-platform device broadcasts its announcement every few seconds
(tuyapi's protocol notes: "UDP broadcast packets to the network every 3-6 seconds"), protocol 3.1 in clear to
udp/6666, 3.3 and 3.4 AES-128-ECB-encrypted under md5("yGAdlopoPVldABfn") to udp/6667, in a 0x000055AA frame
(prefix, sequence, command, length, return code, payload, CRC-32, suffix: tinytuya core/message_helper.py).
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from iotwarden.errors import ConfigError
from iotwarden.lab.behave_net import Behaviour
from iotwarden.lab.params import Param
from iotwarden.lab.wire import BROADCAST_MAC, Frame, udp_frame
from iotwarden.lab.world import World, periodic, stable_int

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity, DeviceSpec

UDP_KEY = hashlib.md5(b"yGAdlopoPVldABfn", usedforsecurity=False).digest()  # tinytuya core/const.py UDPKEY
# protocol version -> (destination port, frame command, encrypted): tinytuya core/const.py UDPPORT, UDPPORTS;
# command_types.py UDP (0) and UDP_NEW (0x13). 3.5 devices announce in GCM frames only when an app asks: not here
VERSIONS = {"3.1": (6666, 0x00, False), "3.3": (6667, 0x13, True), "3.4": (6667, 0x13, True)}


def frame(command: int, payload: bytes, seq: int = 0) -> bytes:
    """A 0x000055AA frame with a zero return code before ``payload`` (tinytuya pack_message)."""
    body = b"\x00\x00\x00\x00" + payload
    head = struct.pack(">4I", 0x55AA, seq, command, len(body) + 8) + body
    return head + struct.pack(">2I", zlib.crc32(head), 0xAA55)


def encrypt(text: bytes) -> bytes:
    """AES-128-ECB with PKCS#7 padding under the discovery key (tinytuya AESCipher.encrypt, pad=True)."""
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(UDP_KEY), modes.ECB()).encryptor()  # noqa: S305 - Tuya's format
    return encryptor.update(padder.update(text) + padder.finalize()) + encryptor.finalize()


def announcement(world: World, dev: DeviceSpec, params: dict[str, Any]) -> bytes:
    """The device's discovery datagram: its JSON, in the framing its protocol version uses."""
    _, command, encrypted = VERSIONS[params["version"]]
    body: dict[str, Any] = {"ip": world.ips[dev.id], "gwId": params["gw_id"] or gw_id(world, dev), "active": 2,
                            "ability": 0, "mode": 0, "encrypt": True, "productKey": params["product_key"],
                            "version": params["version"]}
    text = json.dumps(body, separators=(",", ":")).encode()
    return frame(command, encrypt(text) if encrypted else text)


def gw_id(world: World, dev: DeviceSpec) -> str:
    """A stable 20-digit device id, the length of the ids older Tuya devices announce."""
    return f"{stable_int(world.seed, dev.id, 'tuya') % 10**20:020d}"


def _announce(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    p = act.params
    if p["version"] not in VERSIONS:
        raise ConfigError(f"{act.path}.version: {p['version']!r} is not one of {', '.join(VERSIONS)}")
    rng = world.rng(dev.id, "tuya")
    host = world.host(dev.id)
    port = VERSIONS[p["version"]][0]
    sport = 49152 + stable_int(world.seed, dev.id, "tuya-port") % 16  # lwIP's first ephemeral ports
    datagram = announcement(world, dev, p)

    def broadcast(t: float) -> list[Frame]:
        return [(t, udp_frame(host, BROADCAST_MAC, "255.255.255.255", datagram, sport=sport, dport=port))]

    return periodic(world, rng, p["every"], broadcast, first=world.start + p["at"])


BEHAVIOURS: dict[str, tuple[Behaviour, dict[str, Param]]] = {
    "tuya": (_announce, {
        "version": Param("str", "3.3", "local protocol version: 3.1 (clear, udp/6666), 3.3 or 3.4 (AES, udp/6667)"),
        "product_key": Param("str", help="the productKey the device announces (16 characters)"),
        "gw_id": Param("str", "", "the device id announced (default: a stable 20-digit id)"),
        "every": Param("float", 5.0, "seconds between announcements", minimum=1.0),
        "at": Param("float", 2.0)}),
}
