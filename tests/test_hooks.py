"""Hooks are declared once, documented, and the docs list is generated from them."""

from __future__ import annotations

from iotwarden.hooks import BATCH_HOOKS, HOOK_NAMES, HOOKS, Context


def test_hook_names_are_the_documented_ones() -> None:
    assert {"load", "on_observation", "on_observations", "on_flow", "on_flows", "on_tick", "done"} == HOOK_NAMES
    assert all(h.doc for h in HOOKS)


def test_every_batch_hook_is_a_declared_hook_paired_with_its_per_item_hook() -> None:
    assert BATCH_HOOKS == {"on_observation": "on_observations", "on_flow": "on_flows"}
    assert set(BATCH_HOOKS) | set(BATCH_HOOKS.values()) <= HOOK_NAMES


def test_context_starts_empty() -> None:
    ctx = Context()
    assert (ctx.devices, ctx.findings, ctx.alerts, ctx.now) == ({}, [], [], 0.0)
