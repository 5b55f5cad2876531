"""Positions of the network map's nodes: a force-directed layout (Fruchterman and Reingold, 1991,
"Graph drawing by force-directed placement") in numpy, deterministic for a given graph.

Nodes repel each other (k²/d), edges pull their ends together (d²/k), the step cools linearly; a weak
pull to the centre keeps unconnected nodes on the canvas. With ``groups`` (a subnet or zone per node), each
group has a place on a circle its nodes start near and are pulled towards (edges between groups pull less),
so a subnet reads as one cluster and the links between clusters are the traffic that crosses them. Cost is
O(n² · iterations), so the map is bounded by :data:`iotwarden.report.document.MAX_MAP_NODES`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

ITERATIONS = 300  # cooling steps
GRAVITY = 0.05  # pull towards the centre, relative to the edge force
GROUP_PULL = 1.0  # pull towards the node's group centre, relative to the edge force
CROSS_GROUP = 0.15  # an edge between two groups pulls this much of an edge inside one
MARGIN = 0.06  # fraction of the canvas kept free at each border
GROUP_MARGIN = 0.11  # with groups: room for their backdrops and labels


def _seed(ids: Sequence[str]) -> int:
    return int.from_bytes(hashlib.sha256("\n".join(ids).encode()).digest()[:4], "big")


def layout(ids: Sequence[str], edges: Sequence[tuple[str, str, float]], *, width: float = 1000.0,
           height: float = 700.0, groups: Sequence[str] | None = None) -> dict[str, tuple[float, float]]:
    """Canvas coordinates of each node id; ``edges`` are (source, target, weight) with weight >= 0;
    ``groups`` (one name per id, optional) clusters the nodes of a group together."""
    n = len(ids)
    if n == 0:
        return {}
    if n == 1:
        return {ids[0]: (width / 2, height / 2)}
    index = {node: i for i, node in enumerate(ids)}
    rng = np.random.default_rng(_seed(ids))
    pos = rng.uniform(-0.5, 0.5, size=(n, 2))
    member = anchors = None
    if groups is not None and len(set(groups)) > 1:
        names = sorted(set(groups))
        member = np.array([names.index(g) for g in groups], dtype=np.int64)
        angle = 2 * np.pi * np.arange(len(names)) / len(names)
        anchors = 0.35 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        pos = anchors[member] + 0.15 * pos
    pairs = [(index[a], index[b], w) for a, b, w in edges if a in index and b in index and a != b]
    src = np.array([p[0] for p in pairs], dtype=np.int64)
    dst = np.array([p[1] for p in pairs], dtype=np.int64)
    weight = np.array([p[2] for p in pairs], dtype=np.float64)
    if len(weight):
        weight = 0.5 + np.log1p(weight) / max(1.0, float(np.log1p(weight).max()))  # 0.5 .. 1.5
        if member is not None:
            weight = np.where(member[src] == member[dst], weight, CROSS_GROUP * weight)
    k = float(np.sqrt(1.0 / n))
    step = 0.1
    for i in range(ITERATIONS):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.sqrt((delta**2).sum(axis=2)) + 1e-9
        np.fill_diagonal(dist, np.inf)
        disp = ((k * k / dist**2)[:, :, None] * delta).sum(axis=1)  # repulsion, along the unit vector
        if len(src):
            d = pos[src] - pos[dst]
            length = np.sqrt((d**2).sum(axis=1)) + 1e-9
            pull = (length / k * weight)[:, None] * d
            np.add.at(disp, src, -pull)
            np.add.at(disp, dst, pull)
        disp -= GRAVITY * pos / k
        if member is not None and anchors is not None:  # towards the group's place: groups stay apart
            off = pos - anchors[member]
            disp -= GROUP_PULL * (np.sqrt((off**2).sum(axis=1)) / k)[:, None] * off
        norm = np.sqrt((disp**2).sum(axis=1)) + 1e-9
        pos += disp / norm[:, None] * np.minimum(norm, step)[:, None]
        step = 0.1 * (1.0 - (i + 1) / ITERATIONS) + 1e-4
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    span = np.where(hi - lo > 1e-9, hi - lo, 1.0)
    unit = (pos - lo) / span
    margin = MARGIN if member is None else GROUP_MARGIN
    x = margin * width + unit[:, 0] * width * (1 - 2 * margin)
    y = margin * height + unit[:, 1] * height * (1 - 2 * margin)
    return {node: (round(float(x[i]), 1), round(float(y[i]), 1)) for node, i in index.items()}
