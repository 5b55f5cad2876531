"""Hooks are declared once, documented, and the docs list is generated from them."""

from __future__ import annotations

from iotwarden.hooks import HOOK_NAMES, HOOKS, Context


def test_hook_names_are_the_documented_ones() -> None:
    assert HOOK_NAMES == {"load", "on_observation", "on_flow", "on_tick", "done"}
    assert all(h.doc for h in HOOKS)


def test_context_starts_empty() -> None:
    ctx = Context()
    assert (ctx.devices, ctx.findings, ctx.alerts, ctx.now) == ({}, [], [], 0.0)
