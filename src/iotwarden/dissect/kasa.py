"""TP-Link Kasa local protocol on port 9999, and TP-Link's device discovery on udp/20002: the app's queries and
a device's description of itself.

The Kasa app (and Home Assistant's python-kasa) broadcasts ``{"system":{"get_sysinfo":{}}}`` to udp/9999
and controls a device over tcp/9999; every plug, switch, bulb and strip answers with its sysinfo. The
JSON is "encrypted" with TP-Link's autokey XOR: the key starts at 171 and each ciphertext byte is the
key of the next (softScheck, "Reverse Engineering the TP-Link HS110", 2016, and its tplink-smartplug.py;
python-kasa ``XorEncryption``). A datagram holds one message; over TCP each message is preceded by its
length, a 4-byte big-endian integer, and its key starts again at 171.

Kinds (subject ``src``, the sender), told apart by content since any port may be the device's:

* ``query``: a request (no ``err_code`` anywhere): it describes the app's host, not a device. Field
  ``commands``: the "module.method" names asked for ("system.get_sysinfo").
* ``sysinfo``: an answer carrying ``system.get_sysinfo``; fields from its keys (python-kasa's fixtures of
  real devices show them): ``model`` ("HS110(US)"), ``dev_name`` (``dev_name``, or ``description`` on
  bulbs: "Wi-Fi Smart Plug With Energy Monitoring"), ``type`` (``type``, or ``mic_type`` on bulbs and
  newer firmware: "IOT.SMARTPLUGSWITCH", "IOT.SMARTBULB", "IOT.IPCAMERA"), ``hw_ver``, ``sw_ver``
  ("1.2.6 Build 200727 Rel.121701"), ``mac`` (``mac`` or ``mic_mac``, as aa:bb:cc:dd:ee:ff),
  ``device_id``, ``hw_id``, ``oem_id``, and ``commands``. Cameras nest these under
  ``get_sysinfo.system``. Never kept: the user's ``alias`` for the device (a personal name the
  identity of the device does not need) and ``latitude``/``longitude`` (its owner's location).
* ``response``: any other answer (a relay switched, an energy reading); field ``commands``.

Newer Kasa firmware and Tapo devices (KLAP or AES control over HTTP) answer python-kasa's second probe,
on udp/20002 (TDP: a 16-byte header of version 2, message type, op code, payload size, flags, a reserved
byte, a serial and a CRC-32, then JSON, python-kasa ``_AesDiscoveryQuery`` and ``_get_discovery_json``):

* ``query``: the probe (an empty payload, or the app's RSA public key): field ``commands`` ["tdp.probe"].
* ``discovery``: the device's ``result``: ``model`` (``device_model``, "P110(EU)"), ``type``
  (``device_type``, "SMART.TAPOPLUG"), ``mac``, ``device_id``, ``sw_ver`` and ``hw_ver`` (``firmware_version``,
  ``hardware_version``) when sent, ``encrypt_type`` (``mgt_encrypt_schm.encrypt_type``: KLAP, AES). Never
  kept: ``owner`` (the account's hash) and ``device_name`` (the user's name for it).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from iotwarden.dissect import streambuf
from iotwarden.dissect.base import Packet, StreamDissector
from iotwarden.errors import ParseError
from iotwarden.model import Observation

PORT = 9999
TDP_PORT = 20002  # python-kasa Discover.DISCOVERY_PORT_2
TDP_HEADER = 16
TDP_VERSION = 2
FIRST_KEY = 171  # the autokey's initial value (softScheck; python-kasa XorEncryption)
MAX_MESSAGE = 32 * 1024  # bytes of one message read; a power strip's sysinfo with its outlets is ~2 KB
MAX_MESSAGES = 16  # observations per TCP flow: one app session polls a handful of modules
MAX_COMMANDS = 16  # "module.method" names kept of one message
MAX_TEXT = 128  # characters kept of one value
# sysinfo keys kept, in order of preference for one field (bulbs name some of them differently)
SYSINFO_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("model", ("model",)), ("dev_name", ("dev_name", "description")), ("type", ("type", "mic_type")),
    ("hw_ver", ("hw_ver",)), ("sw_ver", ("sw_ver",)), ("device_id", ("deviceId",)), ("hw_id", ("hwId",)),
    ("oem_id", ("oemId",)),
)
_HEX = frozenset("0123456789abcdef")
JSON_START = b"{ \t\r\n"  # what the first plaintext byte of a message may be (RFC 8259 §2: ws, then the object)
TDP_FIELDS = (("model", "device_model"), ("type", "device_type"), ("device_id", "device_id"),
              ("sw_ver", "firmware_version"), ("hw_ver", "hardware_version"))


def decrypt(data: bytes) -> bytes:
    """Plaintext of autokey-XOR ``data``: byte i is ciphertext byte i XOR ciphertext byte i-1 (171 first)."""
    if not data:
        return b""
    keys = bytes((FIRST_KEY,)) + data[:-1]
    return (int.from_bytes(data, "big") ^ int.from_bytes(keys, "big")).to_bytes(len(data), "big")


def parse(message: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one encrypted message; ParseError when it is not Kasa JSON."""
    if len(message) > MAX_MESSAGE:
        raise ParseError(f"kasa: message of {len(message)} bytes over the limit of {MAX_MESSAGE}")
    try:
        body = json.loads(decrypt(message).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nesting too deep
        raise ParseError(f"kasa: not autokey-XOR JSON: {exc}") from exc
    if not isinstance(body, dict) or not body:
        raise ParseError("kasa: message is not a JSON object of modules")
    commands = _commands(body)
    system = body.get("system")
    info = system.get("get_sysinfo") if isinstance(system, dict) else None
    if isinstance(info, dict) and isinstance(info.get("system"), dict):  # cameras nest their sysinfo
        info = info["system"]
    if isinstance(info, dict) and any(k in info for k in ("model", "sw_ver", "hw_ver")):
        return "sysinfo", {**_sysinfo(info), "commands": commands}
    return ("response" if _answers(body) else "query"), {"commands": commands}


def parse_tdp(datagram: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one udp/20002 TDP datagram; ParseError when it is not one."""
    if len(datagram) < TDP_HEADER or datagram[0] != TDP_VERSION or len(datagram) > MAX_MESSAGE:
        raise ParseError("kasa: not a TDP version 2 datagram of a sane size")
    payload = datagram[TDP_HEADER:]
    if not payload:
        return "query", {"commands": ["tdp.probe"]}
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ParseError(f"kasa: TDP payload is not JSON: {exc}") from exc
    if isinstance(body, dict) and isinstance(body.get("params"), dict):
        return "query", {"commands": ["tdp.probe"]}
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, dict):
        raise ParseError("kasa: TDP payload is neither a probe nor a discovery result")
    fields: dict[str, Any] = {}
    for name, key in TDP_FIELDS:
        value = result.get(key)
        if isinstance(value, str) and value.strip():
            fields[name] = value.strip()[:MAX_TEXT]
    mac = _mac(result["mac"]) if isinstance(result.get("mac"), str) else None
    if mac:
        fields["mac"] = mac
    scheme = result.get("mgt_encrypt_schm")
    if isinstance(scheme, dict) and isinstance(scheme.get("encrypt_type"), str):
        fields["encrypt_type"] = scheme["encrypt_type"][:MAX_TEXT]
    return "discovery", fields


def _commands(body: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for module, methods in body.items():
        names = [k for k in methods if k not in ("err_code", "err_msg")] if isinstance(methods, dict) else []
        for method in names or [""]:
            if len(out) == MAX_COMMANDS:
                return out
            out.append(f"{module[:MAX_TEXT]}.{method[:MAX_TEXT]}" if method else module[:MAX_TEXT])
    return out


def _answers(body: dict[str, Any]) -> bool:
    """True when a module or method result carries an ``err_code``: only devices' answers do."""
    for methods in body.values():
        if isinstance(methods, dict) and ("err_code" in methods or any(
                isinstance(result, dict) and "err_code" in result for result in methods.values())):
            return True
    return False


def _sysinfo(info: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, keys in SYSINFO_FIELDS:
        value = next((info[k] for k in keys if isinstance(info.get(k), str) and info[k].strip()), None)
        if value is not None:
            fields[name] = value.strip()[:MAX_TEXT]
    mac = next((_mac(info[k]) for k in ("mac", "mic_mac") if isinstance(info.get(k), str) and _mac(info[k])), None)
    if mac:
        fields["mac"] = mac
    return fields


def _mac(text: str) -> str | None:
    """"50:C7:BF:01:02:03", "50-C7-BF-01-02-03" or "50C7BF010203" as "50:c7:bf:01:02:03"; None otherwise."""
    digits = text.lower().replace(":", "").replace("-", "")
    if len(digits) != 12 or not set(digits) <= _HEX:
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


class KasaDissector(StreamDissector):
    name: ClassVar[str] = "kasa"
    udp_ports: ClassVar[tuple[int, ...]] = (PORT, TDP_PORT)
    tcp_ports: ClassVar[tuple[int, ...]] = (PORT,)
    max_buffer: ClassVar[int] = MAX_MESSAGE + 4

    def feed(self, pkt: Packet, data: bytes, state: dict[str, Any]) -> list[Observation]:
        if pkt.ip_proto != 6:  # one message per datagram, no length prefix
            kind, fields = parse_tdp(data) if TDP_PORT in (pkt.src_port, pkt.dst_port) else parse(data)
            return [pkt.observation(self.name, kind, fields)]
        buf = streambuf.append(state, pkt.to_server, data, self.max_buffer)
        out: list[Observation] = []
        error: ParseError | None = None  # a bad message inside the framing costs only itself (streambuf.failed)
        while buf and not state.get("done"):
            # checked on the bytes there are: a flow on tcp/9999 that speaks something else is refused at its
            # first bytes (and offered to the other probers, engine/delivery.py) rather than waited on
            length = int.from_bytes(bytes(buf[:4]).ljust(4, b"\0"), "big")  # the least the prefix can say
            if (len(buf) >= 4 and length == 0) or length > MAX_MESSAGE:
                state["done"] = True
                raise streambuf.failed(ParseError(f"kasa: TCP length prefix {length} outside 1..{MAX_MESSAGE}"), out)
            if len(buf) > 4 and buf[4] ^ FIRST_KEY not in JSON_START:
                state["done"] = True
                problem = "kasa: a message that does not decrypt to the start of a JSON object"
                raise streambuf.failed(ParseError(problem), out)
            if len(buf) < 4 + length:
                break
            message = bytes(buf[4 : 4 + length])
            del buf[: 4 + length]
            count = state.get("messages", 0) + 1
            state["messages"] = count
            if count >= MAX_MESSAGES:
                state["done"] = True
            try:
                kind, fields = parse(message)
            except ParseError as exc:
                if count == 1:
                    state["done"] = True  # the flow's first message is no Kasa JSON: another protocol's bytes
                    raise
                error = exc  # the length prefix still frames what follows: read on
                continue
            out.append(pkt.observation(self.name, kind, fields))
        if error is not None:
            raise streambuf.failed(error, out)
        return out
