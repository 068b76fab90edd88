"""The label store: versions, validation, compare-and-set, history, search, and writers in
threads and processes that lose nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from splat_core.labels import CATEGORIES, Label, LabelConflict, LabelError, LabelStore

ROOT = Path(__file__).resolve().parents[2]


def test_reads_create_nothing_and_the_first_write_creates_a_wal_database(tmp_path):
    store = LabelStore.open(tmp_path / "home")
    assert store.path == tmp_path / "home" / "labels" / "labels.sqlite"
    assert store.count() == 0 and store.get(3) is None and store.all() == []
    assert store.queue_next() == [] and store.status()["n_labels"] == 0
    assert not (tmp_path / "home").exists()  # reads work on a full or read-only disk
    store.set(3, name="first")
    assert store.path.is_file()
    conn = store._connect()
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert LabelStore.open(tmp_path / "home").count() == 1  # reopening keeps the file


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
    assert first.to_dict()["feature_id"] == 5 and len(first.to_dict()) == 16
    assert first.rule is None and first.rule_score is None

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
    home.mkdir()  # no store yet: the three processes' first writes create it together
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
