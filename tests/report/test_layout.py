"""The force-directed layout: deterministic, inside the canvas, neighbours closer than strangers."""

from __future__ import annotations

import math

from iotwarden.report.layout import MARGIN, layout


def test_empty_single_and_deterministic() -> None:
    assert layout([], []) == {}
    assert layout(["a"], []) == {"a": (500.0, 350.0)}
    ids = [f"n{i}" for i in range(12)]
    edges = [(f"n{i}", f"n{(i + 1) % 12}", 10.0 * i) for i in range(12)]
    assert layout(ids, edges) == layout(ids, edges)


def test_positions_stay_on_the_canvas() -> None:
    ids = [f"n{i}" for i in range(40)]
    pos = layout(ids, [("n0", f"n{i}", 1.0) for i in range(1, 40)], width=800, height=600)
    for x, y in pos.values():
        assert 800 * MARGIN - 0.1 <= x <= 800 * (1 - MARGIN) + 0.1
        assert 600 * MARGIN - 0.1 <= y <= 600 * (1 - MARGIN) + 0.1


def test_connected_nodes_end_up_closer_than_unconnected_ones() -> None:
    # two cliques of five joined by nothing: within-clique distances are shorter on average
    ids = [f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)]
    edges = [(f"{g}{i}", f"{g}{j}", 100.0) for g in "ab" for i in range(5) for j in range(i + 1, 5)]
    pos = layout(ids, edges)

    def dist(p: str, q: str) -> float:
        return math.dist(pos[p], pos[q])

    inside = [dist(f"a{i}", f"a{j}") for i in range(5) for j in range(i + 1, 5)]
    across = [dist(f"a{i}", f"b{j}") for i in range(5) for j in range(5)]
    assert sum(inside) / len(inside) < sum(across) / len(across)


def test_unknown_edge_ends_and_self_loops_are_ignored() -> None:
    pos = layout(["a", "b"], [("a", "zz", 1.0), ("a", "a", 5.0), ("a", "b", 1.0)])
    assert set(pos) == {"a", "b"}


def test_groups_cluster_even_when_their_members_talk_across() -> None:
    # two subnets of six whose members all talk to members of the other subnet (a server farm and its
    # clients): without groups the layout mixes them, with groups each subnet is drawn together
    ids = [f"a{i}" for i in range(6)] + [f"b{i}" for i in range(6)]
    edges = [(f"a{i}", f"b{j}", 1000.0) for i in range(6) for j in range(6)]
    groups = ["subnet a"] * 6 + ["subnet b"] * 6
    pos = layout(ids, edges, groups=groups)

    def mean(pairs: list[tuple[str, str]]) -> float:
        return sum(math.dist(pos[p], pos[q]) for p, q in pairs) / len(pairs)

    inside = [(f"{g}{i}", f"{g}{j}") for g in "ab" for i in range(6) for j in range(i + 1, 6)]
    across = [(f"a{i}", f"b{j}") for i in range(6) for j in range(6)]
    assert mean(inside) < 0.6 * mean(across)
    assert layout(ids, edges, groups=groups) == pos  # deterministic
    assert layout(ids, edges, groups=["one"] * 12) == layout(ids, edges)  # a single group changes nothing
