"""Multicast DNS / DNS-SD (RFC 6762, RFC 6763) on 5353/udp: the services a device announces.

kind ``query`` or ``response``; subject ``src``. Fields: every dns field (see dissect/dns.py; mDNS
puts announced records in answers *and* additionals, RFC 6762 §6 and RFC 6763 §12), plus what
fingerprinting uses, derived from the records that describe the sender: all sections of a response;
only the authority section of a query, where a prober proposes its own records (RFC 6762 §8.1; a
query's answer section lists *other* hosts' records for known-answer suppression, §7.1):

* ``services``: service types announced, e.g. "_ipp._tcp.local" (RFC 6763 §4.1: the <Service>
  part of PTR owners and of SRV/TXT instance names; PTR data of "_services._dns-sd._udp" §9;
  subtype PTRs "_x._sub._ipp._tcp.local" count for their parent type, §7.1);
* ``instances``: service instance names, e.g. "Office iMac._device-info._tcp.local" (§4.1);
* ``hostnames``: owners of A/AAAA records, SRV targets and reverse-mapping PTR targets (RFC 6762
  §3, §4, RFC 2782);
* ``txt``: the TXT key/value pairs merged over the message, keys lowercased, a key without "=" maps
  to "" (§6.4 boolean attribute). Within one TXT record the first occurrence of a key counts (§6.4);
  each service instance has its own record (§6), so a key two services state differently (RAOP's
  version ``vn`` and Thread MeshCoP's vendor ``vn``) maps to the list of its distinct values, in the
  order seen; a key with one value maps to that text.

Each list holds at most MAX_DERIVED entries, ``txt`` at most MAX_TXT_KEYS keys of at most
MAX_TXT_VALUES values each.
"""

from __future__ import annotations

from typing import Any, ClassVar

from iotwarden.dissect import dnswire
from iotwarden.dissect.base import Dissector, Packet
from iotwarden.dissect.dnswire import Message, character_strings, message_fields, parse_message, read_name
from iotwarden.model import Observation

MAX_DERIVED = 64  # entries per derived list (services, instances, hostnames)
MAX_TXT_KEYS = 64  # keys in the merged txt dict
MAX_TXT_VALUES = 8  # distinct values kept of one txt key over the message's TXT records
SERVICES_META = "_services._dns-sd._udp"  # RFC 6763 §9 service type enumeration


def service_type(name: str) -> str | None:
    """The "_svc._proto.domain" part of a service or instance name, or None (RFC 6763 §4.1, §7)."""
    labels = name.split(".")
    for i in range(len(labels) - 1):
        if labels[i].startswith("_") and labels[i + 1] in ("_tcp", "_udp"):
            if i > 0 and labels[i - 1] == "_services" and labels[i] == "_dns-sd":
                return None  # the enumeration meta-name, not a service (§9)
            return ".".join(labels[i:])  # skips any "<sub>._sub." prefix (§7.1)
    return None


def _add(bucket: list[str], value: str) -> None:
    if value not in bucket and len(bucket) < MAX_DERIVED:
        bucket.append(value)


TxtValues = dict[str, str | list[str]]  # key -> its value, or its distinct values when several


def merge_txt(txt: TxtValues, strings: list[str]) -> None:
    """Adds one TXT record's "key=value" strings to ``txt``: a key's first occurrence in the record
    counts (RFC 6763 §6.4); a value another record gave the key already is not repeated."""
    seen: set[str] = set()
    for item in strings:
        key, _, value = item.partition("=")
        key = key.lower()
        if not key or key in seen:
            continue
        seen.add(key)
        held = txt.get(key)
        if held is None:
            if len(txt) < MAX_TXT_KEYS:
                txt[key] = value
        elif isinstance(held, str):
            if value != held:
                txt[key] = [held, value]
        elif value not in held and len(held) < MAX_TXT_VALUES:
            held.append(value)


def derived_fields(msg: Message) -> dict[str, Any]:
    services: list[str] = []
    instances: list[str] = []
    hostnames: list[str] = []
    txt: TxtValues = {}
    own = (*msg.answers, *msg.authorities, *msg.additionals) if msg.qr else msg.authorities
    for rec in own:
        owner_svc = service_type(rec.name)
        if rec.rtype == 12:  # PTR
            target = read_name(msg.buf, rec.rdata_offset)[0]
            if rec.name.endswith((".in-addr.arpa", ".ip6.arpa")):
                _add(hostnames, target)  # reverse mapping of the sender's own address
            elif rec.name.startswith(SERVICES_META):
                svc = service_type(target)
                if svc:
                    _add(services, svc)
            elif owner_svc:
                _add(services, owner_svc)
                if service_type(target) == owner_svc and target != owner_svc:
                    _add(instances, target)
        elif rec.rtype in (33, 16):  # SRV, TXT: owned by a service instance name
            if owner_svc and rec.name != owner_svc:
                _add(services, owner_svc)
                _add(instances, rec.name)
            if rec.rtype == 33 and rec.rdata_length > 6:
                _add(hostnames, read_name(msg.buf, rec.rdata_offset + 6)[0])
            if rec.rtype == 16:
                merge_txt(txt, character_strings(msg.rdata(rec)))
        elif rec.rtype in (1, 28):  # A, AAAA
            _add(hostnames, rec.name)
    return {"services": services, "instances": instances, "hostnames": hostnames, "txt": txt}


class MdnsDissector(Dissector):
    name: ClassVar[str] = "mdns"
    udp_ports: ClassVar[tuple[int, ...]] = (5353,)
    max_packets_per_flow: ClassVar[int | None] = None  # announcements change as services come and go

    def memo_key(self, payload: bytes) -> bytes | None:
        return dnswire.memo_key(payload)  # the fields depend on the datagram alone, ID apart

    def memo_restamp(self, payload: bytes, fields: dict[str, Any]) -> None:
        dnswire.restamp_id(payload, fields)

    def dissect(self, pkt: Packet, state: dict[str, Any]) -> list[Observation]:
        msg = parse_message(pkt.payload)
        fields = message_fields(msg)
        fields.update(derived_fields(msg))
        return [pkt.observation(self.name, "response" if msg.qr else "query", fields)]
