"""The online Half-Space Trees model: warm-up, scores of familiar vs never-seen flows, alert gating."""

from __future__ import annotations

import numpy as np
import pytest

from iotwarden.detect.anomaly import (
    FEATURES,
    MAX_CACHED_TREES,
    AnomalyOptions,
    FlowAnomalyDetector,
    HalfSpaceTrees,
    _random_trees,
    features,
)
from iotwarden.errors import ConfigError
from iotwarden.hooks import Context
from iotwarden.model import Flow
from tests.detect.runner import feed, tcp_flow

OK = {"flags": (0x1B, 0x1B)}


def _normal(n: int, start: float = 0.0) -> list:
    return [tcp_flow("10.0.0.7", "10.0.0.1", 1883, start + i, payload=(120, 40), pkts=(4, 3),
                     bytes_=(400, 250), **OK) for i in range(n)]


def test_features_are_scaled_into_the_unit_cube() -> None:
    f = features(tcp_flow("10.0.0.7", "10.0.0.1", 65535, 0.0, bytes_=(10**12, 0), pkts=(10**9, 0)))
    assert len(f) == len(FEATURES) and all(0.0 <= v <= 1.0 for v in f)


def test_a_never_seen_region_scores_higher_than_the_familiar_one() -> None:
    model = HalfSpaceTrees(2, n_trees=25, height=8, window_size=64, seed=1)
    rng = np.random.default_rng(0)
    for _ in range(4):
        model.score_learn(rng.normal(0.2, 0.01, size=(64, 2)).clip(0, 1))
    familiar = model.score_learn(np.array([[0.2, 0.2]]))[0]
    odd = model.score_learn(np.array([[0.9, 0.9]]))[0]
    assert odd > 0.8 > familiar


def test_nothing_is_judged_during_warm_up() -> None:
    det = FlowAnomalyDetector({"window_size": 64, "warmup_windows": 4})
    odd = [tcp_flow("10.0.0.7", "10.9.9.9", 31337, 10.0 + i, bytes_=(9 * 10**8, 10), pkts=(10**6, 1), **OK)
           for i in range(10)]
    assert feed([det], flows=odd + _normal(50)) == []


def test_repeated_anomalies_from_one_device_make_one_alert() -> None:
    det = FlowAnomalyDetector({"window_size": 64, "warmup_windows": 2, "min_anomalies": 3})
    feed([det], flows=_normal(300))
    odd = [tcp_flow("10.0.0.66", "10.9.9.9", 31337, 400.0 + i, bytes_=(9 * 10**8, 10), pkts=(10**6, 1), **OK)
           for i in range(3)]
    alerts = feed([det], flows=odd)
    assert [(a.id, a.src_ip) for a in alerts] == [("detect.anomaly.flow", "10.0.0.66")]
    assert alerts[0].evidence["score"] >= 0.8


def test_anomalies_farther_apart_than_the_window_make_no_alert_in_any_order() -> None:
    det = FlowAnomalyDetector({"window_size": 64, "warmup_windows": 2, "min_anomalies": 3, "window_s": 600.0})
    feed([det], flows=_normal(300))

    def odd(ts: float) -> list:
        return [tcp_flow("10.0.0.66", "10.9.9.9", 31337, ts, bytes_=(9 * 10**8, 10), pkts=(10**6, 1), **OK)]

    # two at 2000 s, then one that started at 100 s, handed on late (logged when its session ended)
    assert feed([det], flows=odd(2000.0) + odd(2001.0)) == []
    assert feed([det], flows=odd(100.0)) == []


def _a_backup_starts() -> list[Flow]:
    """Three windows of a site's MQTT polls, then a host starting a backup: every fourth flow a 900 MB upload,
    new at first, familiar once a window of them has been seen."""
    flows = _normal(200)
    for i in range(400):
        ts = 200.0 + i
        flows += ([tcp_flow("10.0.0.8", "10.0.0.2", 31337, ts, bytes_=(9 * 10**8, 10), pkts=(10**6, 1),
                            flags=(0x1B, 0x1B))] if i % 4 == 0 else _normal(1, ts))
    return flows


def _detections(flows: list[Flow], cut: int) -> list[tuple[str | None, float]]:
    det = FlowAnomalyDetector({"window_size": 64, "warmup_windows": 2, "min_anomalies": 3})
    ctx = Context()
    for start in range(0, len(flows), cut):
        det.flows(ctx, flows[start:start + cut])
    return [(a.src_ip, a.first_seen) for a in ctx.alerts]


def test_detections_do_not_depend_on_how_the_flows_were_batched() -> None:
    """A Zeek conn.log is read 10,000 flows a batch, packets a few hundred: each flow is scored against the
    reference window of its own time and judged from the flow the model is warm at, whatever the batch. Scored
    against the window before the batch, a host's print jobs every 150 s, one in ~250 flows, were all unlike a
    half-hour batch's 256-flow reference on two seeds of the variant evaluation (tests/detect/test_recall_variants.py,
    conn.log form): detect.anomaly.flow alerts on a benign workstation (issue #4)."""
    flows = _a_backup_starts()
    one_by_one = _detections(flows, 1)
    assert one_by_one and {src for src, _ in one_by_one} == {"10.0.0.8"}  # the backup's first window is new
    assert max(ts for _, ts in one_by_one) < 200.0 + 2 * 64 * 4  # and familiar a window later
    for cut in (7, 64, 100, len(flows)):
        assert _detections(flows, cut) == one_by_one, cut


def _textbook_score_learn(model: HalfSpaceTrees, x: np.ndarray) -> np.ndarray:
    """Tan et al.'s streaming scoring and mass counting written plainly, per point and tree: each point scored
    against the reference window of its time, then counted (the reference the vectorised model must match bit
    for bit: same sums, in the same order, over the same arrays)."""
    n_nodes = model.split.shape[1]
    paths = np.zeros((x.shape[0], model.n_trees, model.height + 1), dtype=np.int64)
    for p in range(x.shape[0]):
        for t in range(model.n_trees):
            node = 0
            for level in range(model.height):
                node = 2 * node + 1 + int(x[p, model.dim[t, node]] >= model.split[t, node])
                paths[p, t, level + 1] = node
    depth = np.floor(np.log2(np.arange(n_nodes) + 1)).astype(np.int64)
    scores = np.empty(x.shape[0])
    for p in range(x.shape[0]):
        mass = model.ref[np.arange(model.n_trees)[None, :, None], paths[p:p + 1]]
        alive = np.cumprod(mass >= model.size_limit, axis=2) > 0
        alive[:, :, 0] = True
        scores[p] = (1.0 - (mass * (2.0 ** depth[paths[p:p + 1]]) * alive).sum(axis=(1, 2)) / model.max_score)[0]
        for t in range(model.n_trees):
            for node in paths[p, t]:
                model.latest[t, node] += 1
        model.filled += 1
        if model.filled == model.window_size:
            model.ref, model.latest = model.latest, np.zeros_like(model.latest)
            model.filled, model.windows = 0, model.windows + 1
    return scores


def test_vectorised_scores_and_masses_equal_the_textbook_model_exactly() -> None:
    rng = np.random.default_rng(3)
    fast = HalfSpaceTrees(7, n_trees=6, height=5, window_size=40, seed=9)
    plain = HalfSpaceTrees(7, n_trees=6, height=5, window_size=40, seed=9)
    for size in (1, 39, 100, 7, 250, 64):
        x = np.minimum(rng.random((size, 7)) * 1.1, 1.0)
        x[: size // 2, 3] = 0.5  # repeated values and exact split points
        assert np.array_equal(fast.score_learn(x), _textbook_score_learn(plain, x))
        assert np.array_equal(fast.ref, plain.ref) and np.array_equal(fast.latest, plain.latest)
        assert (fast.filled, fast.windows) == (plain.filled, plain.windows)


def test_distinct_points_with_their_repeats_score_and_learn_as_the_whole_batch() -> None:
    """A scan's probes share a handful of feature vectors: the model is given each once with an
    inverse index, and must score and count exactly as for the batch written out."""
    rng = np.random.default_rng(8)
    grouped = HalfSpaceTrees(7, n_trees=6, height=5, window_size=40, seed=2)
    plain = HalfSpaceTrees(7, n_trees=6, height=5, window_size=40, seed=2)
    for size in (1, 90, 33, 400, 12):
        points = rng.random((1 + size // 10, 7))
        inverse = rng.integers(0, points.shape[0], size=size).astype(np.intp)
        inverse[0] = 0
        assert np.array_equal(grouped.score_learn(points, inverse), _textbook_score_learn(plain, points[inverse]))
        assert np.array_equal(grouped.ref, plain.ref) and np.array_equal(grouped.latest, plain.latest)
        assert (grouped.filled, grouped.windows) == (plain.filled, plain.windows)


def test_mostly_distinct_points_over_many_windows_score_and_learn_as_the_whole_batch() -> None:
    """A Zeek reader's batch: thousands of flows, most of them distinct, filling many windows; each window counts
    only the distinct points its part of the batch holds, with their repeats there, exactly as written out."""
    rng = np.random.default_rng(11)
    grouped = HalfSpaceTrees(7, n_trees=6, height=5, window_size=40, seed=3)
    plain = HalfSpaceTrees(7, n_trees=6, height=5, window_size=40, seed=3)
    for size in (1000, 37, 555):
        points = rng.random((size * 3 // 4, 7))
        inverse = np.concatenate([np.arange(points.shape[0]), rng.integers(0, points.shape[0], size - points.shape[0])])
        rng.shuffle(inverse)
        inverse = inverse.astype(np.intp)
        assert np.array_equal(grouped.score_learn(points, inverse), _textbook_score_learn(plain, points[inverse]))
        assert np.array_equal(grouped.ref, plain.ref) and np.array_equal(grouped.latest, plain.latest)
        assert (grouped.filled, grouped.windows) == (plain.filled, plain.windows)


@pytest.mark.parametrize("options", [{"n_trees": -1}, {"n_trees": 0}, {"height": 0}, {"height": 100},
                                     {"height": 10**30}, {"window_size": 0}, {"n_trees": 10**6, "height": 8}])
def test_trees_that_cannot_be_built_or_would_not_fit_are_refused(options: dict[str, int]) -> None:
    """numpy refused negative sizes (ValueError), height 100 asked for 2**101 nodes, 10**30 never finished."""
    refused = r"^detect\.anomaly(\.(n_trees|height|window_size): expected 1 to |: .* at most)"
    with pytest.raises(ConfigError, match=refused):
        FlowAnomalyDetector(options)


def test_models_with_the_same_arguments_share_one_read_only_copy_of_their_trees() -> None:
    """Building the trees loops over their nodes (~7 ms at the defaults, paid by every default analyzer set):
    the trees of the last MAX_CACHED_TREES argument sets are kept, never written; each model counts its own."""
    a, b = FlowAnomalyDetector().model, FlowAnomalyDetector().model
    assert a.dim is b.dim and a.split is b.split
    assert not a.dim.flags.writeable and not a.split.flags.writeable
    dim, split = _random_trees.__wrapped__(len(FEATURES), a.n_trees, a.height, AnomalyOptions().seed)
    assert np.array_equal(dim, a.dim) and np.array_equal(split, a.split)
    a.score_learn(np.full((3, len(FEATURES)), 0.5))
    assert a.latest.sum() > 0 and not b.latest.any() and a.filled == 3 and b.filled == 0
    for seed in range(MAX_CACHED_TREES + 1):
        HalfSpaceTrees(2, n_trees=2, height=2, window_size=8, seed=seed)
    assert _random_trees.cache_info().currsize == MAX_CACHED_TREES


def test_two_vlans_hosts_sharing_an_address_are_not_summed_into_one_alert() -> None:
    """A device is its address within its broadcast domain (detect/base.site_host), as every detector counts it: two
    VLANs' 10.0.0.66, each with fewer than min_anomalies odd flows, make no alert; one VLAN's reaching it does."""
    def odd(ts: float, vlan: int) -> Flow:
        flow = tcp_flow("10.0.0.66", "10.9.9.9", 31337, ts, bytes_=(9 * 10**8, 10), pkts=(10**6, 1), **OK)
        flow.vlan = vlan
        return flow

    det = FlowAnomalyDetector({"window_size": 64, "warmup_windows": 2, "min_anomalies": 3})
    feed([det], flows=_normal(300))
    assert feed([det], flows=[odd(400.0, 10), odd(401.0, 20), odd(402.0, 10)]) == []
    alerts = feed([det], flows=[odd(403.0, 10)])
    assert [(a.id, a.src_ip, a.evidence.get("domain")) for a in alerts] == [("detect.anomaly.flow", "10.0.0.66",
                                                                            "vlan10")]
