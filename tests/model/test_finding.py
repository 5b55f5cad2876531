"""Finding records: severities are checked, time spans widen, dicts round-trip with unknown fields."""

from __future__ import annotations

import pytest

from iotwarden.model.finding import Finding


def test_a_finding_round_trips_and_keeps_unknown_fields() -> None:
    f = Finding("identity.cert.expired", "Expired", "medium", "mac:00:11:22:33:44:55", {"serial": "ab"},
                "Renew it.", ["RFC 5280 §4.1.2.5"], 10.0, 20.0)
    data = f.to_dict() | {"schema_extra": 1}
    back = Finding.from_dict(data)
    assert back.to_dict()["id"] == "identity.cert.expired"
    assert back.evidence["_extra"] == {"schema_extra": 1}
    assert back.references == ["RFC 5280 §4.1.2.5"]


def test_seen_widens_the_span() -> None:
    f = Finding("x.y", "t", "low", "ip:10.0.0.1")
    f.seen(50.0)
    f.seen(40.0)
    f.seen(60.0)
    assert (f.first_seen, f.last_seen) == (40.0, 60.0)


def test_unknown_severity_is_refused() -> None:
    with pytest.raises(ValueError, match="severity"):
        Finding("x.y", "t", "urgent", "ip:10.0.0.1")  # type: ignore[arg-type]
