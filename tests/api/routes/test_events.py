"""GET /api/v1/events: a Server-Sent Events stream of the bus's inventory and alert events."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from iotwarden.bus import InProcessBus


def test_events_stream_as_sse(as_viewer: TestClient, bus: InProcessBus) -> None:
    def publish_when_subscribed() -> None:
        for _ in range(200):
            if bus.subscribers:
                break
            threading.Event().wait(0.01)
        bus.publish("auth.internal", {"not": "streamed"})  # not a console topic
        bus.publish("alert.created", {"id": 5, "title": "scan"})

    threading.Thread(target=publish_when_subscribed).start()
    with as_viewer.stream("GET", "/api/v1/events", params={"max_events": 1}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    assert "event: alert.created\n" in body and 'data: {"id":5,"title":"scan"}' in body
    assert "auth.internal" not in body
    assert bus.subscribers == 0  # the stream's subscription is closed when it ends


def test_a_full_bus_answers_503(as_viewer: TestClient, bus: InProcessBus) -> None:
    held = [bus.subscribe() for _ in range(bus.max_subscribers)]
    assert as_viewer.get("/api/v1/events").status_code == 503
    for sub in held:
        sub.close()
