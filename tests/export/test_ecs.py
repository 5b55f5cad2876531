"""ECS JSON: the document's fields, JSON lines to a file and POSTs to a webhook on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.errors import ConfigError
from iotwarden.export import open_exporter
from iotwarden.export.ecs import shown_url, to_ecs
from tests.export.alerts import sample_alerts
from tests.export.receivers import HttpReceiver


def test_ecs_document_maps_the_alert_to_ecs_fields() -> None:
    scan = sample_alerts()[0]
    doc = to_ecs(scan)
    assert doc["@timestamp"] == "2024-03-04T09:01:30.500Z"
    assert doc["event"]["kind"] == "alert" and "intrusion_detection" in doc["event"]["category"]
    assert doc["event"]["id"] == scan.uid and doc["event"]["severity"] == 75
    assert doc["rule"]["id"] == "detect.scan.telnet_mirai"
    assert doc["threat"]["framework"] == "MITRE ATT&CK"
    assert doc["threat"]["technique"]["id"] == ["T1046", "T1110"]
    assert doc["source"]["ip"] == "10.10.20.102" and "destination" not in doc
    assert doc["iotwarden"]["device_key"] == scan.subject and doc["iotwarden"]["count"] == 3
    json.dumps(doc)


def test_subtechniques_keep_their_parent_technique() -> None:
    doc = to_ecs(sample_alerts()[1])
    assert doc["threat"]["technique"]["id"] == ["T1071", "T1572"]
    assert doc["threat"]["technique.subtechnique"]["id"] == ["T1071.004"]


def test_ecs_file_gets_one_json_document_per_line(tmp_path: Path) -> None:
    out = tmp_path / "alerts.ndjson"
    exporter = open_exporter(f"ecs+file://{out}")
    for alert in sample_alerts():
        exporter.send(alert)
    exporter.close()
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [d["rule"]["id"] for d in docs] == [a.id for a in sample_alerts()]


def test_webhook_posts_each_alert_as_json() -> None:
    rx = HttpReceiver()
    try:
        exporter = open_exporter(f"ecs+http://127.0.0.1:{rx.port}/hooks/iot")
        for alert in sample_alerts():
            exporter.send(alert)
        exporter.close()
    finally:
        rx.close()
    assert rx.paths == ["/hooks/iot"] * 3
    assert all(h["Content-Type"] == "application/json" for h in rx.headers)
    assert [json.loads(b)["event"]["id"] for b in rx.bodies] == [a.uid for a in sample_alerts()]


def test_unreachable_webhook_is_one_clear_error() -> None:
    rx = HttpReceiver()
    port = rx.port
    rx.close()
    exporter = open_exporter(f"ecs+http://127.0.0.1:{port}/")
    with pytest.raises(ConfigError, match="webhook"):
        exporter.send(sample_alerts()[0])


def test_a_webhooks_secret_path_and_token_are_never_shown() -> None:
    """An incoming webhook's secret is its path (Slack, Teams) or a token in its query: the exporter's name in
    warnings (its destination) and its errors show the scheme, host and port only. Before: the whole URL."""
    rx = HttpReceiver()
    port = rx.port
    rx.close()
    exporter = open_exporter(f"ecs+http://127.0.0.1:{port}/services/T0/B0/s3cr3t?token=t0k3n")
    assert getattr(exporter, "destination", None) == f"ecs+http://127.0.0.1:{port}/…"
    with pytest.raises(ConfigError, match="webhook") as caught:
        exporter.send(sample_alerts()[0])
    assert "s3cr3t" not in str(caught.value) and "t0k3n" not in str(caught.value)
    assert shown_url("https://[2001:db8::1]:8443/") == "https://[2001:db8::1]:8443"
