"""`splat labels ...`: JSON values of every subcommand, and the errors that exit 2."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from splat_cli import labels as labels_cli
from splat_cli.main import main
from splat_core.investigate.label_scores import explanation_queue
from splat_core.labels import LabelStore


@pytest.fixture
def empty_home(tmp_path):
    return tmp_path / "empty_home"  # no feature store: ids are not range-checked


def run(capsys, empty_home, *argv) -> tuple[int, str, str]:
    code = main(["labels", *argv, "--home", str(empty_home)])
    out, err = capsys.readouterr()
    return code, out, err


def js(capsys, empty_home, *argv):
    code, out, err = run(capsys, empty_home, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_set_update_show_and_status(capsys, empty_home):
    first = js(capsys, empty_home, "set", "5", "--name", "Swim runner", "--category", "tactical",
               "--notes", "SSU stacks", "--confidence", "0.8")  # fmt: skip
    assert (first["feature_id"], first["name"], first["category"]) == (5, "Swim runner", "tactical")
    assert (first["notes"], first["confidence"], first["source"], first["version"]) == (
        "SSU stacks", 0.8, "cli", 1)  # fmt: skip
    # an update keeps what it does not set
    second = js(capsys, empty_home, "set", "5", "--name", "Runner")
    assert (second["name"], second["category"], second["notes"], second["confidence"]) == (
        "Runner", "tactical", "SSU stacks", 0.8)  # fmt: skip
    assert second["version"] == 2 and second["created_at"] == first["created_at"]
    shown = js(capsys, empty_home, "show", "5")
    assert shown["label"] == second and shown["queue"] is None
    assert [(h["version"], h["name"]) for h in shown["history"]] == [(1, "Swim runner"),
                                                                     (2, "Runner")]  # fmt: skip
    assert js(capsys, empty_home, "show", "6") == {"feature_id": 6, "label": None, "history": [],
                                             "queue": None}  # fmt: skip
    js(capsys, empty_home, "set", "6", "--name", "Other", "--source", "ui")
    status = js(capsys, empty_home, "status")
    assert status["n_labels"] == 2 and status["by_source"] == {"cli": 1, "ui": 1}
    assert status["by_category"]["tactical"] == 1 and status["by_category"]["none"] == 1
    code, out, _ = run(capsys, empty_home, "show", "5")
    assert code == 0 and "'Runner' [tactical] v2" in out and "history (2)" in out
    code, out, _ = run(capsys, empty_home, "status")
    assert code == 0 and "labels: 2" in out


def test_queue_add_next_skip(capsys, empty_home):
    assert js(capsys, empty_home, "next", "--no-build") == {"built": 0, "entries": []}
    added = js(capsys, empty_home, "add", "3,7, 9", "--priority", "0.7", "--reason", "look")
    assert added == {"queued": [3, 7, 9], "priority": 0.7, "reason": "look"}
    js(capsys, empty_home, "add", "1", "--priority", "0.9")
    entries = js(capsys, empty_home, "next", "-n", "3")["entries"]
    assert [(e["feature_id"], e["priority"], e["reason"]) for e in entries] == [
        (1, 0.9, ""), (3, 0.7, "look"), (7, 0.7, "look")]  # fmt: skip
    assert js(capsys, empty_home, "skip") == {"skipped": 1}
    assert js(capsys, empty_home, "skip", "7", "--reason", "unclear") == {"skipped": 7}
    js(capsys, empty_home, "set", "3", "--name", "Done")  # completes the entry
    assert [e["feature_id"] for e in js(capsys, empty_home, "next")["entries"]] == [9]
    assert js(capsys, empty_home, "status")["queue"] == {"pending": 1, "completed": 1, "skipped": 2}
    assert js(capsys, empty_home, "show", "7")["queue"]["skip_reason"] == "unclear"
    code, out, _ = run(capsys, empty_home, "next")
    assert code == 0 and "9" in out and "look" in out
    code, _, err = run(capsys, empty_home, "add", "3")
    assert code == 2 and "completed" in err
    code, _, err = run(capsys, empty_home, "skip", "42")
    assert code == 2 and "not in the labelling queue" in err
    code, _, err = run(capsys, empty_home, "add", "1,x")
    assert code == 2 and "comma-separated integers" in err


def test_next_builds_the_queue_from_feature_counts(capsys, empty_home, monkeypatch):
    import splat_core.query

    counts = np.array([0, 40, 10, 80, 0, 20], dtype=np.int64)

    class FakeReader:
        @classmethod
        def open(cls, _home, _sae="default"):
            return cls()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def feature_counts(self):
            return counts

    code, _, err = run(capsys, empty_home, "next")
    assert code == 2 and "cannot be built" in err and "feature_store" in err
    monkeypatch.setattr(splat_core.query, "Reader", FakeReader)
    js(capsys, empty_home, "set", "1", "--name", "labelled already")
    result = js(capsys, empty_home, "next", "-n", "2")
    assert result["built"] == 3  # 3, 5, 2: active and unlabelled
    assert [(e["feature_id"], e["priority"]) for e in result["entries"]] == [(3, 1.0), (5, 0.25)]
    assert result["entries"][0]["reason"] == "80 nonzero activations"


def test_feature_ids_are_range_checked_when_a_store_exists(capsys, empty_home, monkeypatch):
    monkeypatch.setattr(labels_cli, "n_features", lambda _home, _sae="default": 10)
    for argv in (["set", "10", "--name", "x"], ["show", "12"], ["add", "1,10"], ["skip", "10"]):
        code, _, err = run(capsys, empty_home, *argv)
        assert code == 2 and "unknown feature id" in err and "[0, 10)" in err, argv
    assert js(capsys, empty_home, "set", "9", "--name", "last")["feature_id"] == 9
    code, _, err = run(capsys, empty_home, "set", "-1", "--name", "x")
    assert code == 2 and "unknown feature id -1" in err


def test_bad_values_exit_2(capsys, empty_home):
    for argv, why in [
        (["set", "1", "--name", "x", "--category", "vibes"], "category"),
        (["set", "1", "--name", " "], "name"),
        (["set", "1", "--name", "x", "--confidence", "1.5"], "confidence"),
        (["set", "1", "--name", "x" * 201], "name"),
        (["next", "-n", "-1"], "-n"),
    ]:
        code, out, err = run(capsys, empty_home, *argv)
        assert code == 2 and why in err and out == "", argv
    assert LabelStore.open(empty_home).count() == 0


def test_export_and_import(capsys, empty_home, tmp_path):
    js(capsys, empty_home, "set", "2", "--name", "B", "--notes", "b, notes", "--confidence", "0.5")
    js(capsys, empty_home, "set", "1", "--name", "A", "--category", "mechanical")
    out = tmp_path / "consolidated_ultra.json"
    assert js(capsys, empty_home, "export", "--out", str(out), "--model-type", "ultra") == {
        "path": str(out), "format": "consolidated", "n_labels": 2}  # fmt: skip
    data = json.loads(out.read_text())
    assert list(data) == ["1", "2"] and data["1"]["model_type"] == "ultra"
    assert data["2"]["display_name"] == "B" and data["2"]["interpretability_confidence"] == 0.5
    other = tmp_path / "other"
    assert js(capsys, other, "import", str(out)) == {"path": str(out), "imported": 2}
    assert LabelStore.open(other).export_consolidated("ultra") == data

    csv_out = tmp_path / "labels.csv"
    js(capsys, empty_home, "export", "--out", str(csv_out), "--format", "csv")
    with open(csv_out, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["feature_id", "display_name", "category", "confidence", "source", "notes"]
    assert rows[1:] == [["1", "A", "mechanical", "", "cli", ""],
                        ["2", "B", "none", "0.5", "cli", "b, notes"]]  # fmt: skip

    code, _, err = run(capsys, other, "import", str(tmp_path / "missing.json"))
    assert code == 2 and "no such file" in err
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, _, err = run(capsys, other, "import", str(broken))
    assert code == 2 and "not a JSON file" in err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"3": {"display_name": "C"}, "4": {"dashboard_category": "x"}}))
    code, _, err = run(capsys, other, "import", str(bad))
    assert code == 2 and "entry '4'" in err
    assert LabelStore.open(other).get(3) is None  # all or nothing


def test_rules_scores_rescore_and_the_explanation_queue(capsys, home):
    from splat_core.investigate.explanations import score_rule
    from splat_core.query import Reader

    with Reader.open(home) as reader:
        version, want = reader.data_version, score_rule(reader, 3, "class = shooter")
        well = [f for f, _, _ in explanation_queue(reader, "well")]
    label = js(capsys, home, "set", "3", "--name", "shooters", "--rule", "class=shooter")
    assert label["rule"] == "class = shooter" and label["rule_score"]["data_version"] == version
    assert label["rule_score"]["f1"] == pytest.approx(want["f1"])
    code, _, err = run(capsys, home, "set", "3", "--name", "x", "--rule", 'weapon = "Nope"')
    assert code == 2 and "rule:11: unknown weapon 'Nope'" in err
    store = LabelStore.open(home)
    store.save_rule_score(3, "class = shooter", {"rule": "class = shooter", "data_version": "old"})
    shown = js(capsys, home, "show", "3")["label"]  # a stale score is recomputed on show
    assert shown["rule_score"] == label["rule_score"] == store.get(3).rule_score
    assert js(capsys, home, "rescore") == {"rescored": 0, "data_version": version}
    assert js(capsys, home, "rescore", "--force")["rescored"] == 1
    code, out, _ = run(capsys, home, "show", "3")
    assert code == 0 and "rule: class = shooter" in out and "rule score (held out" in out
    # --rule "" removes the rule and its score; other fields are kept
    cleared = js(capsys, home, "set", "3", "--name", "shooters", "--rule", "")
    assert (cleared["rule"], cleared["rule_score"], cleared["version"]) == (None, None, 2)
    built = js(capsys, home, "build", "--explained", "well", "--top-k", "2")
    assert built == {"built": 2, "by": "explanation", "explained": "well"}
    assert [e["feature_id"] for e in js(capsys, home, "next")["entries"]] == well[:2]
    code, _, err = run(capsys, home, "build", "--by", "explanation")
    assert code == 2 and "--explained" in err


def test_a_rule_without_a_feature_store_is_kept_unscored(capsys, empty_home):
    label = js(capsys, empty_home, "set", "2", "--name", "x", "--rule", "no comeback")
    assert (label["rule"], label["rule_score"]) == ("no comeback", None)
    code, _, err = run(capsys, empty_home, "rescore")
    assert code == 2 and "no feature store" in err
