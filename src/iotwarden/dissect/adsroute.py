"""Beckhoff TwinCAT system-service messages on udp/48899: the discovery ("broadcast search") and the
"add route" request that authorises a remote AmsNetId on the TwinCAT router.

Beckhoff publishes no specification of this service; the layout below is the one the open
implementations agree on and the ics_iti beckoff captures show byte for byte: pyads
``pyads_ex.adsAddRouteToPLC`` (Stefan Lehmann), pcdshub ads-async ``ads_async/service.py``
(``SystemService``: header, tags 0x0c route name, 0x07 AmsNetId, 0x0d user, 0x02 password, 0x05 host)
and the Nmap script ``twincat-scan.nse`` (Pavels-Dev/Beckhoff-PLC-Scan: answer tags 0x05 host name,
0x04 OS version, 0x03 TwinCAT version major.minor.build).

Message: magic ``03 66 14 71``, invoke id (u32), service id (u32 LE; 1 discovery, 6 add route; bit 31
set in the answer), sender AmsNetId (6) and AMS port (u16 LE, 10000 the system service), tag count
(u32 LE), then tags: id (u16 LE), length (u16 LE), value. Texts are NUL-terminated ASCII. Tag 0x04 is
a Win32 ``OSVERSIONINFO`` (size, major, minor, build, platform id: 2 Windows NT, 3 Windows CE).
The password tag (0x02) is never read: not its value, not its length.
"""

from __future__ import annotations

import struct
from typing import Any

from iotwarden.dissect.otstream import text, u16le, u32le
from iotwarden.errors import ParseError

MAGIC = b"\x03\x66\x14\x71"
HEADER = 24  # magic, invoke id, service, AmsNetId, port, tag count
RESPONSE_BIT = 0x8000_0000
SERVICES = {1: "discovery", 6: "add_route"}
MAX_TAGS = 32  # tags read from one message; the answers seen carry 3, the route request 5
TAG_STATUS, TAG_PASSWORD, TAG_TWINCAT_VERSION, TAG_OS_VERSION, TAG_HOST = 0x01, 0x02, 0x03, 0x04, 0x05
TAG_NET_ID, TAG_ROUTE_NAME, TAG_USER = 0x07, 0x0C, 0x0D
OS_PLATFORMS = {2: "windows_nt", 3: "windows_ce"}  # OSVERSIONINFO dwPlatformId (Win32 winnt.h VER_PLATFORM_*)


def net_id(raw: bytes) -> str:
    """An AmsNetId as its six dotted decimals ("5.13.117.96.1.1")."""
    return ".".join(str(b) for b in raw)


def _tags(msg: bytes, count: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    off = HEADER
    for _ in range(min(count, MAX_TAGS)):
        if off + 4 > len(msg):
            break  # discovery answers of some TwinCAT builds end their last tag early
        tag, size = u16le(msg, off), u16le(msg, off + 2)
        if off + 4 + size > len(msg):
            raise ParseError(f"ADS route service tag 0x{tag:02x} past the end of the message")
        if tag != TAG_PASSWORD:
            out.setdefault(tag, msg[off + 4 : off + 4 + size])
        off += 4 + size
    return out


def _os_version(raw: bytes) -> dict[str, Any]:
    if len(raw) < 20:
        return {}
    _size, major, minor, build, platform = struct.unpack_from("<5I", raw)
    return {"os_version": f"{major}.{minor}.{build}", "os_platform": OS_PLATFORMS.get(platform, str(platform))}


def parse(msg: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of one system-service datagram; ParseError when it is not one."""
    if len(msg) < HEADER or not msg.startswith(MAGIC):
        raise ParseError("not a TwinCAT system-service message (magic 03 66 14 71)")
    raw_service = u32le(msg, 8)
    answer = bool(raw_service & RESPONSE_BIT)
    service = raw_service & ~RESPONSE_BIT
    fields: dict[str, Any] = {"service": service, "service_name": SERVICES.get(service, "unknown"),
                              "net_id": net_id(msg[12:18]), "ams_port": u16le(msg, 18), "is_request": not answer}
    tags = _tags(msg, u32le(msg, 20))
    if TAG_HOST in tags:
        fields["route_host" if service == 6 and not answer else "hostname"] = text(tags[TAG_HOST], 64)
    if TAG_TWINCAT_VERSION in tags and len(tags[TAG_TWINCAT_VERSION]) >= 4:
        v = tags[TAG_TWINCAT_VERSION]
        fields["twincat_version"] = f"{v[0]}.{v[1]}.{u16le(v, 2)}"
    if TAG_OS_VERSION in tags:
        fields.update(_os_version(tags[TAG_OS_VERSION]))
    if TAG_ROUTE_NAME in tags:
        fields["route_name"] = text(tags[TAG_ROUTE_NAME], 64)
    if TAG_NET_ID in tags and len(tags[TAG_NET_ID]) == 6:
        fields["route_net_id"] = net_id(tags[TAG_NET_ID])
    if TAG_USER in tags:
        fields["user_name"] = text(tags[TAG_USER], 64)
    if TAG_STATUS in tags and len(tags[TAG_STATUS]) >= 4:
        fields["status"] = u32le(tags[TAG_STATUS], 0)
    kind = f"{SERVICES.get(service, 'service')}_{'answer' if answer else 'request'}"
    return kind, fields
