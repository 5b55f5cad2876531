"""Prior owners: the store's address history names the MAC that held a site address at a time, only
when exactly one MAC held it within the gap and that MAC is no router carrying many addresses."""

from __future__ import annotations

import pytest

from iotwarden.inventory import priors as p
from iotwarden.inventory.priors import OWNER_GAP_S, PriorOwners, Tenure
from iotwarden.inventory.resolution import GATEWAY_MIN_IPS

DAY = 86_400.0
A, B = "00:11:22:33:44:55", "3c:2a:f4:00:00:01"
X = "192.168.1.50"


def test_a_tenure_is_as_far_from_a_time_as_the_nearer_end() -> None:
    t = Tenure(A, X, 100.0, 200.0)
    assert [t.distance(ts) for ts in (40.0, 100.0, 150.0, 200.0, 260.0)] == [60.0, 0.0, 0.0, 0.0, 60.0]


def test_the_holder_within_its_tenure_or_the_gap_is_the_owner_and_not_past_it() -> None:
    owners = PriorOwners([Tenure(A, X, 0.0, 3600.0)])
    assert owners.owner(X, 1800.0) == A
    assert owners.owner(X, 3600.0 + OWNER_GAP_S) == A  # the gap is inclusive
    assert owners.owner(X, -OWNER_GAP_S + 1) == A  # a sighting before the stored one: same lease
    assert owners.owner(X, 3600.0 + OWNER_GAP_S + 1) is None  # a day later the lease may be another's
    assert owners.owner("192.168.1.51", 1800.0) is None  # never held: a routed host of another subnet


def test_a_tenure_answers_for_its_own_broadcast_domain_only() -> None:
    """VLAN 10's holder of X says nothing of VLAN 20's X, nor of an untagged X; each domain's holder is its own
    (two VLANs' holders of one address are no DHCP reuse). The router test counts plain addresses."""
    owners = PriorOwners([Tenure(A, X, 0.0, 3600.0, domain="vlan10"), Tenure(B, X, 0.0, 3600.0, domain="vlan20")])
    assert owners.owner(f"{X}%vlan10", 1800.0) == A
    assert owners.owner(f"{X}%vlan20", 1800.0) == B
    assert owners.owner(X, 1800.0) is None and owners.owner(f"{X}%vlan30", 1800.0) is None
    assert owners.owner_throughout(f"{X}%vlan20", 0.0, 3600.0) == B
    assert Tenure(A, X, 0.0, 1.0, domain="vlan10").at == f"{X}%vlan10" and Tenure(A, X, 0.0, 1.0).at == X


def test_dhcp_reuse_gives_the_address_to_the_holder_of_the_time() -> None:
    owners = PriorOwners([Tenure(B, X, 7 * DAY, 7 * DAY + 3600), Tenure(A, X, 0.0, 3600.0)])
    assert owners.owner(X, 0.5 * DAY) == A
    assert owners.owner(X, 7.5 * DAY) == B
    assert owners.owner(X, 3.5 * DAY) is None  # between both, more than a day from either


def test_two_holders_within_the_gap_leave_the_address_unplaced() -> None:
    # A held it until noon, B from 14:00: a sighting at 13:00, or after B's tenure while A's is still
    # within the gap (B held it in between), could be either device
    owners = PriorOwners([Tenure(A, X, 0.0, 12 * 3600.0), Tenure(B, X, 14 * 3600.0, 16 * 3600.0)])
    assert owners.owner(X, 13 * 3600.0) is None
    assert owners.owner(X, 17 * 3600.0) is None


def test_a_mac_carrying_many_addresses_at_the_time_is_a_router_and_owns_none_of_them() -> None:
    routed = [Tenure(A, f"10.9.0.{i}", 0.0, 3600.0) for i in range(GATEWAY_MIN_IPS)]
    owners = PriorOwners([Tenure(A, X, 0.0, 3600.0), *routed])
    assert owners.owner(X, 1800.0) is None
    # the same addresses held at other times (a laptop moving between networks) are no router's
    moved = [Tenure(A, f"10.9.0.{i}", (i + 2) * DAY, (i + 2) * DAY + 60) for i in range(GATEWAY_MIN_IPS)]
    assert PriorOwners([Tenure(A, X, 0.0, 3600.0), *moved]).owner(X, 1800.0) == A
    # a global address beside a private one: routed traffic stored on the router's MAC
    assert PriorOwners([Tenure(A, X, 0.0, 3600.0), Tenure(A, "93.184.216.34", 0.0, 60.0)]).owner(X, 1800.0) is None
    # its own IPv6 link-local and global addresses beside the IPv4 one are an ordinary host's
    own6 = [Tenure(A, "fe80::211:22ff:fe33:4455", 0.0, 3600.0), Tenure(A, "2001:db8::5", 0.0, 3600.0)]
    assert PriorOwners([Tenure(A, X, 0.0, 3600.0), *own6]).owner(X, 1800.0) == A


def test_tenures_are_bounded_per_address_and_in_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(p, "MAX_TENURES_PER_ADDRESS", 2)
    monkeypatch.setattr(p, "MAX_TENURES", 3)
    rows = [Tenure(f"00:00:00:00:00:0{i}", X, 100.0 * i, 100.0 * i + 10) for i in range(4)]
    rows.append(Tenure(A, "10.0.0.9", 0.0, 1.0))
    rows.append(Tenure(B, "10.0.0.10", 0.0, 1.0))
    owners = PriorOwners(rows)
    assert len(owners) == 3 and owners.dropped == 3
    assert [t.mac for t in owners.by_ip[X]] == ["00:00:00:00:00:00", "00:00:00:00:00:01"]  # the first handed
    assert owners.owner("10.0.0.10", 0.5) is None  # past the total: not kept


def test_a_mac_past_the_addresses_a_host_holds_is_a_router_whenever_it_held_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(p, "MAX_TENURES_PER_MAC", 3)
    spread = [Tenure(A, f"10.9.0.{i}", i * DAY, i * DAY + 60) for i in range(3)]  # one at a time
    assert PriorOwners(spread).owner("10.9.0.0", 30.0) == A
    owners = PriorOwners([*spread, Tenure(A, "10.9.0.3", 3 * DAY, 3 * DAY + 60)])
    assert A in owners.crowded and owners.dropped == 1
    assert owners.owner("10.9.0.0", 30.0) is None


def test_a_span_of_sightings_is_the_owners_when_one_mac_held_the_address_throughout() -> None:
    # a stored ip: device seen from 09:00 to 11:00; A's tenure 10:00-12:00 lies within the gap of both ends
    owners = PriorOwners([Tenure(A, X, 10 * 3600.0, 12 * 3600.0)])
    assert owners.owner_throughout(X, 9 * 3600.0, 11 * 3600.0) == A
    assert owners.owner_throughout(X, 9 * 3600.0, 3 * DAY) is None  # its last sighting two days on: maybe another's
    assert owners.owner_throughout("192.168.1.51", 9 * 3600.0, 11 * 3600.0) is None  # never held


def test_a_span_with_another_holder_within_it_is_nobodys() -> None:
    # A held it at both ends of a week-long span, B in the middle (DHCP gave it away and back): unknown
    spans = [Tenure(A, X, 0.0, 3600.0), Tenure(A, X, 7 * DAY, 7 * DAY + 3600.0), Tenure(B, X, 3 * DAY, 3 * DAY + 60)]
    owners = PriorOwners(spans)
    assert owners.owner(X, 1800.0) == A and owners.owner(X, 7 * DAY) == A
    assert owners.owner_throughout(X, 0.0, 7 * DAY) is None
    assert owners.owner_throughout(X, 0.0, 1800.0) == A  # B's tenure is days from this span


def test_a_routers_mac_owns_no_span() -> None:
    routed = [Tenure(A, f"10.9.0.{i}", 0.0, 3600.0) for i in range(GATEWAY_MIN_IPS)]
    assert PriorOwners([Tenure(A, X, 0.0, 3600.0), *routed]).owner_throughout(X, 600.0, 1200.0) is None
