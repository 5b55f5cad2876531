"""The endpoint record (inventory/endpoint.py): what was seen of one (MAC, IP) pair, and its sighting times."""

from __future__ import annotations

from iotwarden.inventory import resolution
from iotwarden.inventory.endpoint import Endpoint, EvidenceKey, seen_at


def test_a_sighting_widens_the_endpoints_first_and_last_times_only_outward() -> None:
    ep = Endpoint(mac="02:00:00:00:00:01", ip="10.0.0.1", key="mac:02:00:00:00:00:01", first_seen=10.0,
                  last_seen=20.0)
    seen_at(ep, 15.0)
    assert (ep.first_seen, ep.last_seen) == (10.0, 20.0)
    seen_at(ep, 5.0)
    seen_at(ep, 30.0)
    assert (ep.first_seen, ep.last_seen) == (5.0, 30.0)


def test_a_new_endpoint_holds_no_facts_and_the_resolver_still_exports_the_record() -> None:
    ep = Endpoint(mac=None, ip="10.0.0.1", key="ip:10.0.0.1", first_seen=1.0, last_seen=1.0)
    assert (ep.at, ep.hostnames, ep.attributes, ep.protocols, ep.packets, ep.bytes, ep.evidence) == (
        None, set(), {}, set(), 0, 0, {})
    key: EvidenceKey = ("dhcp", "request", "hostname", "cam")
    ep.evidence[key] = [1.0, 1.0, 1]
    assert resolution.Endpoint is Endpoint and resolution.EvidenceKey is EvidenceKey
