"""The label store: values, versions, history, validation, the queue, the reference's
consolidated layout, and concurrent writers (threads and processes) losing nothing."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from splat_core.labels import CATEGORIES, Label, LabelConflict, LabelError, LabelStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path) -> LabelStore:
    return LabelStore.open(tmp_path / "home")


def test_open_creates_a_wal_database(tmp_path):
    store = LabelStore.open(tmp_path / "home")
    assert store.path == tmp_path / "home" / "labels" / "labels.sqlite"
    assert store.path.is_file()
    conn = store._connect()
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert LabelStore.open(tmp_path / "home").count() == 0  # reopening keeps the file


def test_set_get_update_versions_and_created_at(store):
    assert store.get(5) is None
    first = store.set(
        5,
        name="  Swim runner ",
        category="tactical",
        notes="SSU stacks",
        confidence=0.8,
        importance_percentile=97.5,
        research_label="swim",
    )
    assert isinstance(first, Label)
    assert (first.name, first.category, first.notes, first.confidence) == (
        "Swim runner",
        "tactical",
        "SSU stacks",
        0.8,
    )
    assert (first.version, first.source, first.importance_percentile) == (1, "api", 97.5)
    assert first.research_label == "swim" and first.stability_score is None
    assert first.created_at == first.updated_at
    assert datetime.fromisoformat(first.created_at).utcoffset().total_seconds() == 0
    assert store.get(5) == first
    assert first.to_dict()["feature_id"] == 5 and len(first.to_dict()) == 14

    second = store.set(5, name="Runner", category="Mechanical", source="cli")
    assert second.version == 2 and second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    # set() replaces: fields not given are back to their defaults
    assert (second.category, second.notes, second.confidence) == ("mechanical", "", None)
    assert second.importance_percentile is None and second.research_label is None
    assert store.set(5, name="Runner 3").version == 3
    store.set(2, name="other")
    assert [x.feature_id for x in store.all()] == [2, 5] and store.count() == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x", "notes": "n" * 10_001}, "notes"),
        ({"name": "x", "category": "vibes"}, "category"),
        ({"name": "x", "confidence": 1.5}, "confidence"),
        ({"name": "x", "confidence": -0.1}, "confidence"),
        ({"name": "x", "confidence": float("nan")}, "confidence"),
        ({"name": "x", "confidence": "0.5"}, "confidence"),
        ({"name": "x", "confidence": True}, "confidence"),
        ({"name": "x", "hypothesis_confidence": 2}, "hypothesis_confidence"),
        ({"name": "x", "importance_percentile": 100.5}, "importance_percentile"),
        ({"name": "x", "importance_percentile": -1}, "importance_percentile"),
        ({"name": "x", "stability_score": float("inf")}, "stability_score"),
        ({"name": "x", "research_label": 3}, "research_label"),
        ({"name": "x", "source": ""}, "source"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": "x", "expected_version": -1}, "expected_version"),
    ],
)
def test_invalid_values_are_refused_naming_the_field(store, kwargs, field):
    with pytest.raises(LabelError, match=field):
        store.set(1, **kwargs)
    assert store.get(1) is None and store.history(1) == []


@pytest.mark.parametrize("bad", [-1, True, 1.5, "3", None])
def test_invalid_feature_ids_are_refused(store, bad):
    with pytest.raises(LabelError, match="feature_id"):
        store.set(bad, name="x")
    with pytest.raises(LabelError, match="feature_id"):
        store.get(bad)


def test_limits_are_inclusive(store):
    label = store.set(
        0,
        name="x" * 200,
        notes="n" * 10_000,
        confidence=1,
        importance_percentile=0,
        hypothesis_confidence=0.0,
    )
    assert len(label.name) == 200 and label.confidence == 1.0
    assert [store.set(1, name="c", category=c).category for c in CATEGORIES] == list(CATEGORIES)


def test_expected_version_is_compare_and_set(store):
    assert store.set(3, name="a", expected_version=0).version == 1
    with pytest.raises(LabelConflict, match="already has a label") as e:
        store.set(3, name="b", expected_version=0)
    assert e.value.current.version == 1 and e.value.current.name == "a"
    assert store.set(3, name="b", expected_version=1).version == 2
    with pytest.raises(LabelConflict, match="version 2, not 1") as e:
        store.set(3, name="c", expected_version=1)
    assert e.value.current.name == "b"
    with pytest.raises(LabelConflict, match="has no label") as e:
        store.set(4, name="x", expected_version=2)
    assert e.value.current is None and store.get(4) is None
    with pytest.raises(LabelConflict):
        store.delete(3, expected_version=1)
    assert store.get(3).name == "b"
    assert store.delete(3, expected_version=2) is True


def test_history_keeps_every_write_including_deletions(store):
    store.set(7, name="one", notes="first")
    store.set(7, name="two", category="strategic")
    assert store.delete(7) is True
    assert store.delete(7) is False and store.get(7) is None
    again = store.set(7, name="three")
    assert again.version == 4  # continues past the deletion: stale versions never match
    history = store.history(7)
    assert [(h["version"], h["action"], h["name"]) for h in history] == [
        (1, "set", "one"),
        (2, "set", "two"),
        (3, "delete", "two"),
        (4, "set", "three"),
    ]
    assert history[0]["notes"] == "first" and history[2]["category"] == "strategic"
    assert all(h["feature_id"] == 7 and h["written_at"] for h in history)
    assert store.history(8) == []


def test_search_is_case_insensitive_over_name_and_notes(store):
    store.set(1, name="Swim Runner", notes="")
    store.set(2, name="Ink saver", notes="stacks SWIM speed")
    store.set(3, name="Bomb thrower", notes="sub power")
    store.set(4, name="Ärger", notes="")
    assert [x.feature_id for x in store.search("swim")] == [1, 2]
    assert [x.feature_id for x in store.search("SUB POW")] == [3]
    assert [x.feature_id for x in store.search("swim", limit=1)] == [1]
    assert [x.feature_id for x in store.search("ärg")] == [4]
    assert store.search("%") == [] and store.search("zzz") == []


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


def test_consolidated_round_trip(store, tmp_path):
    store.set(
        1,
        name="A",
        category="mechanical",
        notes="n1",
        confidence=0.25,
        importance_percentile=88.0,
        stability_score=0.7,
        research_label="ra",
        research_state_path="/s/feature_1_ultra.json",
        hypothesis_confidence=0.6,
        source="dashboard",
    )
    store.set(12, name="B")
    exported = store.export_consolidated("ultra")
    assert list(exported) == ["1", "12"]
    one = exported["1"]
    assert one == {
        "feature_id": 1,
        "model_type": "ultra",
        "dashboard_name": "A",
        "dashboard_category": "mechanical",
        "dashboard_notes": "n1",
        "research_label": "ra",
        "research_state_path": "/s/feature_1_ultra.json",
        "hypothesis_confidence": 0.6,
        "display_name": "A",
        "source": "dashboard",
        "last_updated": store.get(1).updated_at,
        "importance_percentile": 88.0,
        "interpretability_confidence": 0.25,
        "stability_score": 0.7,
    }
    other = LabelStore.open(tmp_path / "other")
    assert other.import_consolidated(exported) == 2
    assert other.export_consolidated("ultra") == exported
    a, b = store.get(1), other.get(1)
    assert {**a.to_dict(), "created_at": None} == {**b.to_dict(), "created_at": None}
    # importing over existing labels updates them (new versions, history kept)
    assert other.import_consolidated(exported) == 2
    assert other.get(1).version == 2 and len(other.history(1)) == 2
    assert other.export_consolidated("ultra") == exported


def test_import_is_all_or_nothing(store):
    store.set(1, name="kept")
    good = {"2": {"feature_id": 2, "display_name": "fine"}}
    for bad, why in [
        ({"3": {"display_name": "C", "dashboard_category": "zzz"}}, "'3'.*category.*zzz"),
        ({"x": {"display_name": "C"}}, "'x'.*key"),
        ({"-4": {"display_name": "C"}}, "'-4'.*key"),
        ({"5": {"feature_id": 6, "display_name": "C"}}, "'5'.*does not match"),
        ({"7": {"display_name": "", "research_label": None}}, "'7'.*no name"),
        ({"8": {"display_name": "C", "interpretability_confidence": 3}}, "'8'.*confidence"),
        ({"9": {"display_name": "C", "last_updated": "yesterday"}}, "'9'.*last_updated"),
        ({"10": ["not", "an", "object"]}, "'10'.*object"),
    ]:
        with pytest.raises(LabelError, match=why):
            store.import_consolidated({**good, **bad})
    with pytest.raises(LabelError, match="JSON object"):
        store.import_consolidated([good])
    with pytest.raises(LabelError, match=r"'2'.*\[0, 2\)"):
        store.import_consolidated(good, n_features=2)
    assert [x.feature_id for x in store.all()] == [1] and store.history(2) == []


def test_a_reference_file_imports(store):
    reference = {
        "17": {
            "feature_id": 17,
            "model_type": "ultra",
            "dashboard_name": "Old name",
            "dashboard_category": "tactical",
            "dashboard_notes": "SCU + special power",
            "research_label": "Special charge stacker",
            "research_state_path": "/mnt/e/mechinterp_runs/state/feature_17_ultra.json",
            "hypothesis_confidence": 0.72,
            "display_name": "Special charge stacker",
            "source": "merged",
            "last_updated": "2025-01-02T03:04:05.678901",
            "importance_percentile": 99.1,
            "interpretability_confidence": 0.9,
            "stability_score": 0.83,
        },
        "4": {
            "feature_id": 4,
            "model_type": "ultra",
            "dashboard_name": None,
            "dashboard_category": None,
            "dashboard_notes": None,
            "research_label": "QR core",
            "research_state_path": "/state/feature_4_ultra.json",
            "hypothesis_confidence": None,
            "display_name": "",
            "source": "research",
            "last_updated": "2025-01-01T00:00:00",
        },
        "9": {
            "feature_id": 9,
            "model_type": "ultra",
            "dashboard_name": "Dash only",
            "dashboard_category": "",
            "display_name": "",
            "source": "",
            "last_updated": "2024-12-31T23:59:59+00:00",
        },
    }
    assert store.import_consolidated(reference, source_default="import") == 3
    a = store.get(17)
    assert (a.name, a.category, a.notes, a.confidence) == (
        "Special charge stacker",
        "tactical",
        "SCU + special power",
        0.9,
    )
    assert (a.source, a.hypothesis_confidence, a.importance_percentile, a.stability_score) == (
        "merged",
        0.72,
        99.1,
        0.83,
    )
    assert a.research_state_path.endswith("feature_17_ultra.json") and a.version == 1
    assert a.updated_at == "2025-01-02T03:04:05.678901"
    b = store.get(4)
    assert (b.name, b.category, b.notes, b.research_label, b.source) == (
        "QR core",
        "none",
        "",
        "QR core",
        "research",
    )
    c = store.get(9)
    assert (c.name, c.category, c.source) == ("Dash only", "none", "import")


def test_export_csv(store, tmp_path):
    store.set(3, name="C, with comma", notes='quote " and\nnewline', confidence=0.5)
    store.set(1, name="A", category="strategic", source="ui")
    out = tmp_path / "labels.csv"
    assert store.export_csv(out) == 2
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["feature_id", "display_name", "category", "confidence", "source", "notes"],
        ["1", "A", "strategic", "", "ui", ""],
        ["3", "C, with comma", "none", "0.5", "api", 'quote " and\nnewline'],
    ]


# --- concurrency -----------------------------------------------------------------------------


def test_threads_lose_nothing(store):
    shared = 1000

    def worker(t: int) -> None:
        for i in range(50):
            store.set(t * 100 + i, name=f"t{t} i{i}", source="thread")
            store.set(shared, name=f"shared t{t} i{i}", source="thread")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    labels = {x.feature_id: x for x in store.all()}
    assert len(labels) == 8 * 50 + 1
    assert all(labels[t * 100 + i].name == f"t{t} i{i}" for t in range(8) for i in range(50))
    history = store.history(shared)
    assert [h["version"] for h in history] == list(range(1, 401))
    assert {h["name"] for h in history} == {
        f"shared t{t} i{i}" for t in range(8) for i in range(50)
    }
    assert labels[shared].version == 400 and labels[shared].name == history[-1]["name"]


def test_processes_lose_nothing(tmp_path):
    home = tmp_path / "home"
    LabelStore.open(home)
    script = textwrap.dedent(
        """
        import pathlib, sys, time
        from splat_core.labels import LabelStore
        store, p = LabelStore.open(sys.argv[1]), int(sys.argv[2])
        (pathlib.Path(sys.argv[1]) / f"ready{p}").touch()
        while not (pathlib.Path(sys.argv[1]) / "go").exists():  # start together
            time.sleep(0.005)
        for i in range(40):
            store.set(p * 1000 + i, name=f"p{p} i{i}", source="process")
            store.set(99999, name=f"shared p{p} i{i}", source="process")
            store.queue_add([50000 + p * 1000 + i])
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(home), str(p)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(3)
    ]
    deadline = time.monotonic() + 30
    while not all((home / f"ready{p}").exists() for p in range(3)):
        assert time.monotonic() < deadline and all(proc.poll() is None for proc in procs)
        time.sleep(0.005)
    (home / "go").touch()
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    store = LabelStore.open(home)
    assert store.count() == 3 * 40 + 1
    assert {x.name for x in store.all()} >= {f"p{p} i{i}" for p in range(3) for i in range(40)}
    assert [h["version"] for h in store.history(99999)] == list(range(1, 121))
    assert store.status()["queue"]["pending"] == 120
