"""What Zeek splits across logs, joined again as its records are mapped: the MACs and VLAN of conn.log (by ``uid``)
stamped on the other logs' Observations, and x509.log certificates put into one ``certificate`` Observation per
server chain that ssl.log names (``cert_chain_fps``/``cert_chain_fuids``); each log's records mapped by its
mapper, loaded with the log's first record. The reading of the logs is :mod:`~iotwarden.sources.zeek`'s.
"""

from __future__ import annotations

import importlib
import itertools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from iotwarden.model import Flow, Observation
from iotwarden.sources import zeek_connflow, zeek_ics, zeek_map, zeek_tls
from iotwarden.sources.zeek_fields import ConnId

if TYPE_CHECKING:
    from iotwarden.sources.zeek_app import FtpLogins

_Mapper = Callable[[dict[str, Any]], list[Observation]]


@cache
def _loaded(module: str, name: str) -> Any:
    """``name`` of ``iotwarden.sources.<module>``, imported on first use."""
    return getattr(importlib.import_module(f"iotwarden.sources.{module}"), name)


def _lazy(module: str, name: str) -> _Mapper:
    """A mapper whose module, and the dissector tables it reads (SIP, S7comm, BACnet: ~90 ms of imports), loads
    with the first record of its log: a run on conn.logs alone never pays for it."""

    def mapper(rec: dict[str, Any]) -> list[Observation]:
        found: _Mapper = _loaded(module, name)
        return found(rec)

    return mapper

# the logs whose records are Observations alone, one function each (conn, ssl, x509 and known_* join or branch)
OBSERVATION_MAPPERS: dict[str, _Mapper] = {
    "dns": zeek_map.map_dns, "dhcp": zeek_map.map_dhcp, "http": zeek_map.map_http, "ssh": zeek_map.map_ssh,
    "software": zeek_map.map_software, "modbus": zeek_ics.map_modbus, "dnp3": zeek_ics.map_dnp3,
    "cip": zeek_ics.map_cip, "cip_identity": zeek_ics.map_cip_identity, "snmp": _lazy("zeek_app", "map_snmp"),
    "sip": _lazy("zeek_app", "map_sip"), "s7comm": _lazy("zeek_icsnpp", "map_s7comm"),
    "bacnet": _lazy("zeek_icsnpp", "map_bacnet"), "bacnet_discovery": _lazy("zeek_icsnpp", "map_bacnet_discovery"),
    "ntlm": _lazy("zeek_app", "map_ntlm"),
    "rdp": _lazy("zeek_rdp", "map_rdp"),
    "dce_rpc": _lazy("zeek_dcerpc", "map_dce_rpc"),
    "quic": _lazy("zeek_iot", "map_quic"), "ntp": _lazy("zeek_iot", "map_ntp"),
    "mqtt_connect": _lazy("zeek_iot", "map_mqtt_connect"), "mqtt_publish": _lazy("zeek_iot", "map_mqtt_publish"),
    "mqtt_subscribe": _lazy("zeek_iot", "map_mqtt_subscribe"), "kerberos": _lazy("zeek_windows", "map_kerberos"),
    "smb_mapping": _lazy("zeek_windows", "map_smb_mapping"), "smb_files": _lazy("zeek_windows", "map_smb_files"),
    "ldap": _lazy("zeek_ldap", "map_ldap"), "ldap_search": _lazy("zeek_ldap", "map_ldap_search"),
}

# conn.log uids remembered to stamp MACs and VLAN on the other logs' records of the same connection.
MAX_TRACKED_UIDS = 65536
# Certificates and certificate chains remembered for the ssl.log <-> x509.log join (Zeek logs each
# certificate once a day, so later connections with the same certificate are joined from the cache).
MAX_TRACKED_CERTS = 16384

_K = TypeVar("_K")
_V = TypeVar("_V")


class Lru(Generic[_K, _V]):
    """A dict that forgets its least recently used entry beyond ``limit`` entries."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._data: OrderedDict[_K, _V] = OrderedDict()

    def get(self, key: _K) -> _V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: _K, value: _V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) > self.limit:
            self._data.popitem(last=False)

    def pop(self, key: _K) -> _V | None:
        return self._data.pop(key, None)

    def values(self) -> list[_V]:
        return list(self._data.values())

    def __len__(self) -> int:
        return len(self._data)


@dataclass(slots=True, frozen=True)
class LinkInfo:
    orig_h: str
    orig_mac: str | None
    resp_mac: str | None
    vlan: int | None


def link_of(flow: Flow) -> tuple[str | None, LinkInfo | None]:
    """A conn.log flow's uid and the link-layer facts it gives the other logs' records (None: none)."""
    uid = flow.extra.get("uid")
    if not isinstance(uid, str) or not (flow.a_mac or flow.b_mac or flow.vlan):  # a bare conn.log has none
        return None, None
    return uid, LinkInfo(flow.a_ip, flow.a_mac, flow.b_mac, flow.vlan or None)


@dataclass(slots=True)
class _Chain:
    """An ssl.log record's certificate chain, waiting for its x509.log records."""

    server: ConnId
    uid: Any
    keys: list[str]
    found: dict[str, dict[str, Any]]
    rdp: bool = False  # conn.log or rdp.log named the connection RDP: the leaf's CN names the server

    def certs(self) -> list[dict[str, Any]]:
        return [self.found[k] for k in self.keys if k in self.found]


def _certificate(ts: float, chain: _Chain) -> list[Observation]:
    """A joined chain's ``certificate``, and an RDP server's ``server_certificate`` naming it (sources/zeek_rdp.py)."""
    cert = zeek_tls.certificate(ts, chain.certs(), chain.server)
    named = _loaded("zeek_rdp", "server_certificate")(cert, rdp=chain.rdp)
    return [cert] if named is None else [cert, named]


class Joiner:
    """Maps records and joins them across logs, within the named limits."""

    def __init__(self, late: Lru[str, LinkInfo] | None = None) -> None:
        self.links: Lru[str, LinkInfo] = Lru(MAX_TRACKED_UIDS)
        self.late = late  # conn.log lines read ahead: those later than the reorder window
        self.certs: Lru[str, dict[str, Any]] = Lru(MAX_TRACKED_CERTS)  # x509 records read, by key
        self.chains: Lru[int, _Chain] = Lru(MAX_TRACKED_CERTS)  # chains still missing certificates
        self.waiting: Lru[str, list[int]] = Lru(MAX_TRACKED_CERTS)  # certificate key -> chains it completes
        self._ids = itertools.count()
        self.ftp: FtpLogins | None = None  # each FTP session's login once (ftp.log repeats it per command)
        self.rdp_uids: Lru[str, bool] = Lru(MAX_TRACKED_UIDS)  # connections conn.log or rdp.log named RDP

    def conn(self, flow: Flow) -> Flow:
        """A conn.log flow: its MACs and VLAN remembered by ``uid`` for the other logs' records."""
        if flow.a_mac or flow.b_mac or flow.vlan:  # the flow's own fields first: a bare conn.log has none
            uid, link = link_of(flow)
            if uid is not None and link is not None:
                self.links.put(uid, link)
        if flow.app == "rdp" or (flow.extra.get("services") and "rdp" in flow.extra["services"]):
            self._rdp(flow.extra.get("uid"))
        return flow

    def _rdp(self, uid: Any) -> None:
        if isinstance(uid, str):
            self.rdp_uids.put(uid, True)

    def map(self, log_type: str, rec: dict[str, Any]) -> tuple[list[Observation], list[Flow]]:
        if log_type == "conn":
            return [], [self.conn(zeek_connflow.map_conn(rec))]
        if log_type == "x509":
            return self._x509(rec), []
        if log_type == "ssl":
            cid, observations, keys = zeek_tls.map_ssl(rec)
            if keys:
                uid = rec.get("uid")
                chain = _Chain(cid, uid, keys, {}, isinstance(uid, str) and self.rdp_uids.get(uid) is not None)
                for key in keys:
                    cached = self.certs.get(key)
                    if cached is not None:  # logged before (Zeek logs a certificate once a day)
                        chain.found[key] = cached
                if len(chain.found) == len(keys):
                    observations += _certificate(cid.ts, chain)
                else:
                    chain_id = next(self._ids)
                    self.chains.put(chain_id, chain)
                    for key in keys:
                        if key not in chain.found:
                            self.waiting.put(key, [*(self.waiting.get(key) or []), chain_id])
        elif log_type in ("known_hosts", "known_services", "known_devices"):
            observations = zeek_map.map_known(log_type, rec)
        elif log_type == "ftp":
            if self.ftp is None:
                self.ftp = _loaded("zeek_app", "FtpLogins")()
            observations = self.ftp.map(rec)
        else:
            if log_type == "rdp":
                self._rdp(rec.get("uid"))
            mapper = OBSERVATION_MAPPERS.get(log_type)
            if mapper is None:
                return [], []  # a log type we do not map, met inside a JSON stream
            observations = mapper(rec)
        if "uid" not in rec and isinstance(uids := rec.get("uids"), list):
            return self._stamp_vlan(observations, uids), []
        return self._stamp(observations, rec.get("uid")), []

    def _x509(self, rec: dict[str, Any]) -> list[Observation]:
        """A certificate completes the chains waiting for it; one nobody waits for goes out alone."""
        ts, key, fields = zeek_tls.map_x509(rec)
        if key is None:
            return [zeek_tls.certificate(ts, [fields], None)]
        self.certs.put(key, fields)
        out: list[Observation] = []
        matched = False
        for chain_id in self.waiting.pop(key) or []:
            chain = self.chains.get(chain_id)
            if chain is None:  # pushed out by newer chains
                continue
            matched = True
            chain.found[key] = fields
            if len(chain.found) == len(chain.keys):
                self.chains.pop(chain_id)
                out += self._stamp(_certificate(ts, chain), chain.uid)
        if not matched:
            out.append(zeek_tls.certificate(ts, [fields], None))
        return out

    def flush(self) -> list[Observation]:
        """At end of input: chains still missing some certificates, with those that were read."""
        out = []
        for chain in self.chains.values():
            if chain.found:
                out += self._stamp(_certificate(chain.server.ts, chain), chain.uid)
        return out

    def _stamp_vlan(self, observations: list[Observation], uids: list[Any]) -> list[Observation]:
        """The VLAN of a record naming several connections (dhcp.log ``uids``: one exchange's, all on its
        client's link) from the first conn.log knows; MACs are the record's own (dhcp.log ``mac``)."""
        for uid in uids:
            link = self.links.get(uid) if isinstance(uid, str) else None
            if link is None and self.late is not None and isinstance(uid, str):
                link = self.late.get(uid)
            if link is not None:
                for obs in observations:
                    obs.vlan = link.vlan
                break
        return observations

    def _stamp(self, observations: list[Observation], uid: Any) -> list[Observation]:
        """MACs and VLAN of connection ``uid`` (from conn.log) on its Observations."""
        link = None
        if isinstance(uid, str):
            link = self.links.get(uid)
            if link is None and self.late is not None:
                link = self.late.get(uid)
        if link is not None:
            for obs in observations:
                from_orig = obs.src_ip == link.orig_h
                obs.src_mac = obs.src_mac or (link.orig_mac if from_orig else link.resp_mac)
                obs.dst_mac = obs.dst_mac or (link.resp_mac if from_orig else link.orig_mac)
                obs.vlan = link.vlan
        return observations
