"""The Alert record: validation, aggregation key, and a dict round trip that keeps unknown fields."""

from __future__ import annotations

import pytest

from iotwarden.model.alert import Alert


def test_round_trip_and_unknown_fields_survive() -> None:
    a = Alert(id="detect.c2.beaconing", title="t", severity="high", subject="ip:10.0.0.1", key="1.2.3.4:443",
              mitre=["T1071"], evidence={"period_s": 60.0}, first_seen=1.0, last_seen=2.0, count=3, uid="u")
    assert Alert.from_dict(a.to_dict()) == a
    b = Alert.from_dict({**a.to_dict(), "ticket": "SOC-42"})
    assert b.evidence["_extra"] == {"ticket": "SOC-42"}
    assert a.group == ("detect.c2.beaconing", "ip:10.0.0.1", "1.2.3.4:443")


@pytest.mark.parametrize(("field", "value"), [("severity", "urgent"), ("status", "snoozed")])
def test_invalid_severity_or_status_is_refused(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        Alert(**{"id": "detect.x.y", "title": "t", "severity": "low", "subject": "s", field: value})  # type: ignore[arg-type]
