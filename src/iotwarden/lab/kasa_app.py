"""TP-Link Kasa in the lab: the Kasa app (or Home Assistant's python-kasa) on a phone or hub broadcasts
``{"system":{"get_sysinfo":{}}}`` to udp/9999 and every plug, switch or bulb of its subnet answers with its
sysinfo; a hub may then poll each over tcp/9999 (4-byte big-endian length, then the message). Messages are in
TP-Link's autokey XOR: the key starts at 171 and each ciphertext byte keys the next (softScheck, "Reverse
Engineering the TP-Link HS110", 2016, tplink-smartplug.py; python-kasa ``XorEncryption``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from iotwarden.errors import ConfigError
from iotwarden.lab.behave_net import RTT_LAN, Behaviour
from iotwarden.lab.params import Param
from iotwarden.lab.wire import BROADCAST_MAC, Frame, TcpStream, udp_frame
from iotwarden.lab.world import World, periodic, stable_int

if TYPE_CHECKING:
    from iotwarden.lab.scenario import Activity, DeviceSpec

KASA_PORT = 9999
FIRST_KEY = 171
DISCOVERY_QUERY: dict[str, Any] = {"system": {"get_sysinfo": {}}}  # python-kasa Discover.DISCOVERY_QUERY
ANSWER_DELAY = 0.2  # seconds within which a device answers the broadcast, at random
FAMILIES = ("IOT.SMARTPLUGSWITCH", "IOT.SMARTBULB")  # python-kasa kasa/deviceconfig.py DeviceFamily


def encrypt(message: dict[str, Any]) -> bytes:
    """The JSON of ``message`` in the autokey XOR (tplink-smartplug.py ``encrypt`` without its length)."""
    key, out = FIRST_KEY, bytearray()
    for byte in json.dumps(message, separators=(", ", ": ")).encode():
        key ^= byte
        out.append(key)
    return bytes(out)


def framed(message: dict[str, Any]) -> bytes:
    """A tcp/9999 message: its 4-byte big-endian length, then the encrypted JSON."""
    data = encrypt(message)
    return len(data).to_bytes(4, "big") + data


def sysinfo(world: World, dev: DeviceSpec, params: dict[str, Any]) -> dict[str, Any]:
    """The ``system.get_sysinfo`` answer of a device, keyed as python-kasa's fixtures of real ones are: plugs and
    switches (HS110(US)_1.0_1.2.6) say ``dev_name``, ``type`` and ``mac``; bulbs (KL130(US)_1.0_1.8.11) say
    ``description``, ``mic_type`` and ``mic_mac``. The user's alias is the device's host name."""
    ident = f"{stable_int(world.seed, dev.id, 'kasa'):016X}"
    info: dict[str, Any] = {
        "sw_ver": dev.firmware, "hw_ver": params["hw_ver"], "model": f"{dev.model}({params['region']})",
        "deviceId": (ident * 3)[:40], "oemId": (ident[::-1] * 2)[:32], "hwId": (ident * 2)[:32],
        "rssi": -40 - stable_int(dev.id, "rssi") % 30, "alias": dev.hostname or dev.id, "err_code": 0,
    }
    if params["family"] == "IOT.SMARTBULB":
        info |= {"description": params["dev_name"], "mic_type": params["family"],
                 "mic_mac": dev.mac.replace(":", "").upper(), "is_dimmable": 1, "is_color": 0,
                 "light_state": {"on_off": 1, "brightness": 80}}
    else:
        info |= {"dev_name": params["dev_name"], "type": params["family"], "mac": dev.mac.upper(),
                 "relay_state": 1, "on_time": 3600 + stable_int(dev.id, "on") % 86400, "feature": "TIM",
                 "led_off": 0, "updating": 0, "latitude_i": 0, "longitude_i": 0}
    return {"system": {"get_sysinfo": info}}


def _device(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """A Kasa device: silent until an app on its subnet asks (``kasa_app``), which answers for it."""
    if act.params["family"] not in FAMILIES:
        raise ConfigError(f"{act.path}.family: {act.params['family']!r} is not one of {', '.join(FAMILIES)}")
    return iter(())


def _app(world: World, dev: DeviceSpec, act: Activity) -> Iterator[Frame]:
    """The app's discovery broadcast every ``every`` seconds, each Kasa device of the subnet's answer, and with
    ``poll`` a tcp/9999 session per device asking its sysinfo again (Home Assistant's update)."""
    p = act.params
    rng = world.rng(dev.id, "kasa_app")
    app = world.host(dev.id)
    devices = [(d, b.params) for d in world.devices.values() if d.subnet == dev.subnet and d.id != dev.id
               for b in d.behaviours if b.kind == "kasa"]
    broadcast = str(world.scenario.network.subnets[dev.subnet].network.broadcast_address)

    def discover(t: float) -> list[Frame]:
        sport = world.ephemeral_port(rng, dev.id)
        out = [(t, udp_frame(app, BROADCAST_MAC, broadcast, encrypt(DISCOVERY_QUERY), sport=sport, dport=KASA_PORT))]
        for other, params in devices:
            answer = encrypt(sysinfo(world, other, params))
            out.append((t + rng.uniform(0.005, ANSWER_DELAY),
                        udp_frame(world.host(other.id), dev.mac, app.ip, answer, sport=KASA_PORT, dport=sport)))
            if p["poll"]:
                conn = TcpStream(rng, app, world.ephemeral_port(rng, dev.id), world.host(other.id), KASA_PORT,
                                 rtt=RTT_LAN)
                out += conn.session(t + ANSWER_DELAY + rng.uniform(0.05, 0.5),
                                    [(True, framed(DISCOVERY_QUERY)), (False, framed(sysinfo(world, other, params)))])
        return out

    return periodic(world, rng, p["every"], discover, first=world.start + p["at"])


BEHAVIOURS: dict[str, tuple[Behaviour, dict[str, Param]]] = {
    "kasa": (_device, {
        "family": Param("str", "IOT.SMARTPLUGSWITCH", "sysinfo type: IOT.SMARTPLUGSWITCH or IOT.SMARTBULB"),
        "dev_name": Param("str", help="the product's name, e.g. 'Wi-Fi Smart Plug With Energy Monitoring'"),
        "hw_ver": Param("str", "1.0"), "region": Param("str", "US", "region suffix of the model, HS110(US)")}),
    "kasa_app": (_app, {
        "every": Param("float", 300.0, "seconds between discovery broadcasts", minimum=1.0),
        "poll": Param("bool", False, "also ask each device its sysinfo over tcp/9999"),
        "at": Param("float", 5.0)}),
}
