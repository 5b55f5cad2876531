"""Per-device baselines: learning then enforcing, drift without floods, bounded state."""

from __future__ import annotations

from iotwarden.detect.baseline import Novelty, Rate


def test_items_learned_while_learning_are_never_news() -> None:
    base = Novelty(learn_s=100.0)
    assert not base.check("d", "a", 0.0)
    assert base.learning("d", 50.0) and not base.learning("d", 150.0)
    assert not base.check("d", "a", 500.0)
    assert base.check("d", "b", 500.0)


def test_a_new_item_is_reported_once_then_learned_after_promote_after_sightings() -> None:
    base = Novelty(learn_s=0.0, promote_after=3)
    base.touch("d", 0.0)
    assert [base.check("d", "x", 10.0 + i) for i in range(5)] == [True, False, False, False, False]
    assert base.known("d", "x")


def test_unused_items_are_forgotten() -> None:
    base = Novelty(learn_s=10.0, forget_after=1000.0)
    base.check("d", "x", 0.0)
    assert base.check("d", "x", 5000.0)


def test_devices_and_items_are_bounded() -> None:
    base = Novelty(learn_s=1e9, max_devices=3, max_items=4)
    for d in range(10):
        for i in range(10):
            base.check(f"d{d}", i, float(i))
    assert len(base) == 3 and base.dropped_devices == 7
    assert not base.known("d9", 0) and base.known("d9", 9)


def test_rate_scores_after_warm_up() -> None:
    rate = Rate(warmup=5, max_devices=2)
    assert [rate.score("d", 100.0) for _ in range(5)] == [None] * 5
    z = rate.score("d", 10_000.0)
    assert z is not None and z > 100
    for d in ("e", "f"):
        rate.score(d, 1.0)
    assert len(rate) == 2


def test_the_least_recently_active_device_goes_first_when_one_device_comes_again_and_again() -> None:
    """A device touched again right after itself (a scan's probes) keeps its place without a move;
    the order of the others, and a device dropped and seen again, are as without the shortcut."""
    n = Novelty(max_devices=2)
    for device, ts in (("a", 1.0), ("b", 2.0), ("a", 3.0), ("a", 4.0), ("c", 5.0)):
        n.touch(device, ts)
    assert list(n._profiles) == ["a", "c"] and n.dropped_devices == 1
    one = Novelty(max_devices=1)
    one.touch("a", 1.0)
    one.touch("b", 2.0)
    assert one.touch("a", 3.0).start == 3.0  # a new profile: the old one went with "b"'s arrival
    assert list(one._profiles) == ["a"] and one.dropped_devices == 2
