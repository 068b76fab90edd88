"""The labelling queue: order, skip, completion, building from counts, status."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from splat_core.labels import LabelError

ROOT = Path(__file__).resolve().parents[2]


def test_queue_order_skip_unskip_and_completion(store):
    assert store.queue_add([5, 3], priority=0.5, reason="manual") == 2
    store.queue_add(9, priority=0.9)
    store.queue_add([1], priority=0.5)
    assert [(e["feature_id"], e["priority"]) for e in store.queue_next(10)] == [
        (9, 0.9),
        (1, 0.5),
        (3, 0.5),
        (5, 0.5),
    ]
    assert store.queue_next(10)[2]["reason"] == "manual"
    assert set(store.queue_next(1)[0]) == {"feature_id", "priority", "reason", "added_at"}
    store.queue_add([5], priority=0.95, reason="bumped")  # re-adding pending: updated
    top = store.queue_next(1)[0]
    assert (top["feature_id"], top["priority"], top["reason"]) == (5, 0.95, "bumped")
    assert store.queue_skip() == 5  # the next pending one
    assert store.queue_skip(1, reason="unclear") == 1
    assert store.queue_get(1)["status"] == "skipped"
    assert store.queue_get(1)["skip_reason"] == "unclear"
    assert [e["feature_id"] for e in store.queue_next(10)] == [9, 3]
    store.queue_add([1], priority=0.1)  # un-skips
    assert [e["feature_id"] for e in store.queue_next(10)] == [9, 3, 1]
    store.set(9, name="labelled")  # a pending entry is completed by labelling
    assert store.queue_get(9)["status"] == "completed"
    assert [e["feature_id"] for e in store.queue_next(10)] == [3, 1]
    with pytest.raises(LabelError, match=r"\[9\].*completed"):
        store.queue_add([2, 9])
    assert store.queue_get(2) is None  # all or nothing
    with pytest.raises(LabelError, match="completed"):
        store.queue_skip(9)
    with pytest.raises(LabelError, match="not in the labelling queue"):
        store.queue_skip(42)
    assert store.queue_complete(3) is True and store.queue_complete(42) is False
    assert store.queue_skip() == 1 and store.queue_skip() is None
    assert store.status()["queue"] == {"pending": 0, "completed": 2, "skipped": 2}
    for bad in ({"priority": float("nan")}, {"priority": "high"}):
        with pytest.raises(LabelError, match="priority"):
            store.queue_add([11], **bad)
    with pytest.raises(LabelError, match="feature_id"):
        store.queue_add([11, -1])


def test_queue_build_from_counts(store):
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 1000, size=64)
    counts[[10, 20, 30]] = [5000, 5000, 4000]  # a tie broken by feature id
    counts[40:] = 0
    store.set(20, name="already labelled")
    store.queue_add([30], priority=0.01)
    store.queue_add([31])
    store.queue_skip(31)
    added = store.queue_build(counts, top_k=5)
    assert added == 5
    expected = [f for f in np.lexsort((np.arange(64), -counts)) if f not in (20, 30, 31)][:5]
    entries = store.queue_next(20)
    built = [e for e in entries if e["feature_id"] != 30]
    assert [e["feature_id"] for e in built] == [int(f) for f in expected]
    assert built[0]["feature_id"] == 10 and built[0]["priority"] == 1.0
    for e in built:
        assert e["priority"] == pytest.approx(counts[e["feature_id"]] / 5000)
        assert e["reason"] == f"{counts[e['feature_id']]} nonzero activations"
    assert store.queue_get(30)["priority"] == 0.01  # an existing entry is left as it was
    assert store.queue_get(31)["status"] == "skipped"
    # the rest, never the inactive ones; include_labeled takes labelled features too
    assert store.queue_build(counts, top_k=1000) == 40 - 3 - 5
    assert store.queue_build(counts, top_k=1000, include_labeled=True) == 1
    assert store.queue_get(20)["status"] == "pending"
    assert store.queue_build(counts) == 0
    assert store.queue_build(np.zeros(8, dtype=np.int64)) == 0
    with pytest.raises(LabelError, match="counts"):
        store.queue_build(np.array([1, -1]))


def test_queue_fill_keeps_the_given_order_and_skips_taken_features(store):
    store.set(2, name="labelled")
    store.queue_add([4], priority=0.9)
    entries = [(3, 0.2, "c"), (2, 0.9, "b"), (4, 0.1, "d"), (1, 0.5, "a"), (3, 0.7, "again"),
               (5, 0.1, "e")]  # fmt: skip
    assert store.queue_fill(entries, top_k=2) == 2  # 3 and 1: 2 is labelled, 4 queued
    assert [(e["feature_id"], e["reason"]) for e in store.queue_next(10)] == [
        (4, ""), (1, "a"), (3, "c")]  # fmt: skip
    assert store.queue_fill(entries, top_k=0) == 0
    with pytest.raises(LabelError, match="priority"):
        store.queue_fill([(6, float("nan"), "x")])
    assert store.queue_fill(entries, include_labeled=True) == 2  # 2 and 5


def test_status_counts(store):
    store.set(1, name="a", category="tactical", source="cli")
    store.set(2, name="b", category="tactical")
    store.set(3, name="c", category="auxiliary", source="ui")
    store.delete(3)
    store.queue_add([4, 5])
    store.queue_skip(5)
    assert store.status() == {
        "n_labels": 2,
        "by_category": {
            "none": 0,
            "mechanical": 0,
            "tactical": 2,
            "strategic": 0,
            "auxiliary": 0,
        },
        "by_source": {"api": 1, "cli": 1},
        "queue": {"pending": 1, "completed": 0, "skipped": 1},
    }
