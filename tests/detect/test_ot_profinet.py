"""A PROFINET DCP Set that readdresses a device, end to end: ics_iti ChangeIPUsingDCP.pcap (an attack capture:
a VMware host finds a SCALANCE X208 with Identify All and sets its IP permanently, layer 2 only, no IP header)
raises detect.ot.config_change on the switch and risk.ot.unauthorized_write names the host."""

from __future__ import annotations

from tests.conftest import shared
from tests.detect.runner import detect
from tests.risk.harness import analyse, found

CAPTURE = ("pcaps", "ics_iti", "pcaps", "profinet", "PROFINET-RT-DCP", "ChangeIPUsingDCP.pcap")
SWITCH, HOST = "mac:08:00:06:93:cf:32", "mac:00:0c:29:ba:09:ea"


def test_the_dcp_set_ip_raises_a_config_change_on_the_switch() -> None:
    ctx = detect([shared(*CAPTURE)])
    (alert,) = [a for a in ctx.alerts if a.id.startswith("detect.ot.")]
    assert (alert.id, alert.subject, alert.severity, alert.mitre) == \
        ("detect.ot.config_change", SWITCH, "high", ["T0836", "T0855"])
    assert alert.evidence["proto"] == "pn_dcp" and "set_ip" in alert.evidence["operation"]
    (obs,) = alert.observations  # the request, as the alert records it
    assert (obs["kind"], obs["src_mac"], obs["dst_mac"], obs["src_ip"], obs["fields"]["set_ip"]) == \
        ("set_request", "00:0c:29:ba:09:ea", "08:00:06:93:cf:32", None, "192.168.0.10")


def test_the_readdressing_host_is_an_unauthorised_writer() -> None:
    ctx, _ = analyse(shared(*CAPTURE))
    (finding,) = found(ctx, "risk.ot.unauthorized_write").values()
    assert finding.subject == SWITCH
    assert finding.evidence["operations"] == ["pn_dcp.set_ip"]
    assert finding.evidence["unauthorised_sources"] == [HOST]
    ctx, _ = analyse(shared(*CAPTURE), options={"risk.ot.unauthorized_write": {"engineering_stations": [HOST]}})
    assert found(ctx, "risk.ot.unauthorized_write") == {}
