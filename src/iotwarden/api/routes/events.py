"""Live updates as Server-Sent Events (HTML Living Standard §9.2): inventory and alert events from the bus."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from iotwarden.api.auth import READ, context
from iotwarden.bus.inprocess import BusFull, Subscription

router = APIRouter(tags=["events"])
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing an idle stream
TOPICS = ("inventory", "alert", "finding", "capture")


async def _stream(request: Request, sub: Subscription, max_events: int | None) -> AsyncIterator[bytes]:
    sent = 0
    try:
        yield b"retry: 3000\n\n"
        while max_events is None or sent < max_events:
            if await request.is_disconnected():
                break
            event = await sub.aget(KEEPALIVE_S)
            if event is None:
                yield b": keepalive\n\n"
                continue
            payload = json.dumps(event.data, separators=(",", ":"), default=str)
            yield f"id: {event.seq}\nevent: {event.topic}\ndata: {payload}\n\n".encode()
            sent += 1
    finally:
        sub.close()


@router.get("/events", dependencies=[READ], response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def events(request: Request,
                 max_events: Annotated[int | None, Query(ge=1, le=100_000, description="end after this many")] = None,
                 ) -> StreamingResponse:
    """The event stream: ``inventory.*`` (devices added or changed), ``alert.*``, ``finding.*``, ``capture.*``."""
    try:
        sub = context(request).bus.subscribe(TOPICS)
    except BusFull as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "10"}) from None
    return StreamingResponse(_stream(request, sub, max_events), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
