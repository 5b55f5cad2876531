"""A device using or serving a new protocol/port after learning; ephemeral ports fold into one item."""

from __future__ import annotations

from iotwarden.detect.new_protocol import NewProtocolDetector
from tests.detect.runner import feed, tcp_flow

OK = {"payload": (100, 100), "flags": (0x1B, 0x1B), "pkts": (4, 4)}


def test_new_service_after_learning_is_reported_once_for_client_and_server() -> None:
    flows = [tcp_flow("10.0.0.7", "10.0.0.1", 1883, float(t), app="mqtt", **OK) for t in range(0, 4000, 300)]
    flows += [tcp_flow("10.0.0.7", "10.0.0.1", 23, 5000.0 + i, app="telnet", **OK) for i in range(3)]
    alerts = feed([NewProtocolDetector()], flows=flows)
    assert sorted(a.key for a in alerts) == ["client:tcp/23/telnet", "server:tcp/23/telnet"]


def test_ephemeral_ports_are_one_item() -> None:
    flows = [tcp_flow("10.0.0.7", "10.0.0.1", 50000, 1.0, **OK)]
    flows += [tcp_flow("10.0.0.7", "10.0.0.1", 50000 + i, 4000.0 + i, **OK) for i in range(1, 20)]
    assert feed([NewProtocolDetector()], flows=flows) == []


def test_external_hosts_have_no_baseline() -> None:
    flows = [tcp_flow("10.0.0.7", "10.0.0.1", 80, 1.0, **OK), tcp_flow("10.0.0.7", "203.0.113.5", 8443, 4000.0, **OK)]
    alerts = feed([NewProtocolDetector()], flows=flows)
    assert [a.subject for a in alerts] == ["mac:None"] or [a.src_ip for a in alerts] == ["10.0.0.7"]


def test_linux_ephemeral_ports_are_one_item_too() -> None:
    flows = [tcp_flow("10.0.0.7", "10.0.0.1", 40000, 1.0, **OK)]  # Linux allocates from 32768
    flows += [tcp_flow("10.0.0.7", "10.0.0.1", 33000 + i, 4000.0 + i, **OK) for i in range(20)]
    assert feed([NewProtocolDetector()], flows=flows) == []


def test_a_device_drifting_to_many_new_services_raises_a_few_alerts_and_one_summary() -> None:
    flows = [tcp_flow("10.0.0.7", "10.0.0.1", 80, 1.0, **OK)]
    flows += [tcp_flow("10.0.0.7", "10.0.0.1", 2000 + i, 4000.0 + i, **OK) for i in range(40)]
    alerts = feed([NewProtocolDetector({"max_per_device_day": 3})], flows=flows)
    # each flow is new for the client 10.0.0.7 and for the server 10.0.0.1: three each, then one summary each
    summaries = {a.subject: a.count for a in alerts if a.key == "many"}
    assert len(alerts) == 2 * 3 + 2
    assert summaries == {"ip:10.0.0.7": 37, "ip:10.0.0.1": 37}
