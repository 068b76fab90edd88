"""The reference's consolidated JSON and CSV formats in and out."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from splat_core.labels import LabelError, LabelStore

ROOT = Path(__file__).resolve().parents[2]


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
