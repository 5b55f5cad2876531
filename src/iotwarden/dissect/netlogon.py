"""The CLDAP "LDAP ping" of Active Directory ([MS-ADTS] §6.3.3): the domain controller's answer, the Netlogon
attribute's NETLOGON_SAM_LOGON_RESPONSE_EX (§6.3.1.9), read for dissect/ldap.py.

Its names are RFC 1035 §4.1.4 compressed names whose pointers count from the structure's first byte; its
flags are DS_FLAG's (§6.3.1.2). Malformed input raises ParseError.
"""

from __future__ import annotations

import struct
import uuid
from typing import Any

from iotwarden.dissect import dnswire
from iotwarden.errors import ParseError

# §6.3.1.9 Opcode: the answer of a DC that serves the domain, or one that does not know the user asked about
LOGON_SAM_LOGON_RESPONSE_EX = 23
LOGON_SAM_PAUSE_RESPONSE_EX = 24
LOGON_SAM_USER_UNKNOWN_EX = 25
EX_OPCODES = {LOGON_SAM_LOGON_RESPONSE_EX: "LOGON_SAM_LOGON_RESPONSE_EX",
              LOGON_SAM_PAUSE_RESPONSE_EX: "LOGON_SAM_PAUSE_RESPONSE_EX",
              LOGON_SAM_USER_UNKNOWN_EX: "LOGON_SAM_USER_UNKNOWN_EX"}
# §6.3.1.2 DS_FLAG
DS_FLAGS = ((0x1, "DS_PDC_FLAG"), (0x4, "DS_GC_FLAG"), (0x8, "DS_LDAP_FLAG"), (0x10, "DS_DS_FLAG"),
            (0x20, "DS_KDC_FLAG"), (0x40, "DS_TIMESERV_FLAG"), (0x80, "DS_CLOSEST_FLAG"),
            (0x100, "DS_WRITABLE_FLAG"), (0x200, "DS_GOOD_TIMESERV_FLAG"), (0x400, "DS_NDNC_FLAG"),
            (0x800, "DS_SELECT_SECRET_DOMAIN_6_FLAG"), (0x1000, "DS_FULL_SECRET_DOMAIN_6_FLAG"),
            (0x2000, "DS_WS_FLAG"), (0x4000, "DS_DS_8_FLAG"), (0x8000, "DS_DS_9_FLAG"), (0x10000, "DS_DS_10_FLAG"),
            (0x20000, "DS_KEY_LIST_FLAG"), (0x20000000, "DS_DNS_CONTROLLER_FLAG"),
            (0x40000000, "DS_DNS_DOMAIN_FLAG"), (0x80000000, "DS_DNS_FOREST_FLAG"))
# §6.3.1.9 the names, in order, after Opcode, Sbz, Flags and DomainGuid (24 bytes)
NAMES = ("dns_forest_name", "dns_domain_name", "dns_host_name", "netbios_domain_name", "netbios_computer_name",
         "user_name", "dc_site_name", "client_site_name")
HEAD = struct.Struct("<HHI16s")


def flag_names(mask: int) -> list[str]:
    return [name for bit, name in DS_FLAGS if mask & bit]


def _name(buf: bytes, pos: int) -> tuple[str | None, int]:
    name, end = dnswire.read_name(buf, pos)
    return (None if name == "." else name), end


def parse_response(data: bytes) -> dict[str, Any]:
    """The fields of a NETLOGON_SAM_LOGON_RESPONSE_EX (module docstring); ParseError for another structure."""
    if len(data) < HEAD.size + len(NAMES):
        raise ParseError("netlogon: response shorter than its fixed part")
    opcode, _, flags, guid = HEAD.unpack_from(data)
    if opcode not in EX_OPCODES:
        raise ParseError(f"netlogon: opcode {opcode} is not a NETLOGON_SAM_LOGON_RESPONSE_EX")
    fields: dict[str, Any] = {"opcode": EX_OPCODES[opcode], "flags": flag_names(flags), "flags_mask": flags,
                              "domain_guid": str(uuid.UUID(bytes_le=guid))}
    pos = HEAD.size
    for key in NAMES:
        fields[key], pos = _name(data, pos)
    # NtVersion closes the structure, after the DcSockAddr (NETLOGON_NT_VERSION_5EX_WITH_IP, §6.3.1.1) and
    # NextClosestSiteName (NETLOGON_NT_VERSION_WITH_CLOSEST_SITE) the request may have asked for
    if len(data) >= pos + 8:
        fields["nt_version"] = int.from_bytes(data[-8:-4], "little")
    return fields
