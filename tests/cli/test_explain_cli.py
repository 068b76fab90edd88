"""`splat explain` and `splat explanations summary` on the shared tiny home: the JSON is the
table's rows (read here with pyarrow from the Parquet file), the counts are recounted from
them, a bad rule exits 2 naming its column, and the tables print."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq

from splat_cli.main import main
from splat_core.explain.planted import matches
from splat_core.explain.rules import parse


def splat(capsys, home, *argv) -> tuple[int, str, str]:
    code = main([*map(str, argv), "--home", str(home)])
    out = capsys.readouterr()
    return code, out.out, out.err


def table_rows(reader) -> list[dict]:
    path = reader.path("feature_explanations") / "feature_explanations.parquet"
    return pq.read_table(path).to_pylist()


def test_explain_prints_the_tables_rows_and_the_best_rules_failures(capsys, tiny_home,
                                                                    tiny_reader):  # fmt: skip
    rows = table_rows(tiny_reader)
    f = rows[0]["feature_id"]
    code, out, err = splat(capsys, tiny_home, "explain", f, "--json", "--k", 3)
    assert code == 0, err
    got = json.loads(out)
    assert got["explanations"] == [r for r in rows if r["feature_id"] == f]
    best = parse(got["explanations"][0]["rule"])
    ids, values = tiny_reader.activations(f)
    inputs = tiny_reader.explainer.inputs
    for e in got["hard_negatives"]:  # the rule holds, the feature is silent
        assert inputs.evaluate(best, np.array([e["sample_id"]]))[0]
        assert e["sample_id"] not in set(ids.tolist()) and e["activation"] == 0
    missed = [e["sample_id"] for e in got["misses"]]
    assert not inputs.evaluate(best, np.array(missed, dtype=np.int64)).any()
    assert [e["activation"] for e in got["misses"]] == sorted(
        [e["activation"] for e in got["misses"]], reverse=True
    )
    code, out, _ = splat(capsys, tiny_home, "explain", f)
    assert code == 0 and got["explanations"][0]["sentence"] in out and "misses" in out


def test_a_rule_of_ones_own_is_scored_and_a_bad_one_is_refused(capsys, tiny_home):
    code, out, err = splat(capsys, tiny_home, "explain", 0, "--json", "--rule",
                           "quick_respawn >= 6 | comeback")  # fmt: skip
    assert code == 0, err
    row = json.loads(out)["explanations"][0]
    assert row["rule"] == "quick_respawn >= 6 | comeback" and 0 <= row["f1"] <= 1
    code, _, err = splat(capsys, tiny_home, "explain", 0, "--rule", "comeback & run_sped >= 6")
    assert code == 2 and "--rule:12: unknown ability or kit 'run_sped'" in err


def test_summary_counts_the_best_rules(capsys, tiny_home, tiny_reader):
    rows = table_rows(tiny_reader)
    best = [r for r in rows if r["rank"] == 1]
    code, out, err = splat(capsys, tiny_home, "explanations", "summary", "--json")
    assert code == 0, err
    got = json.loads(out)
    for level in ("high", "medium", "low", "none"):
        assert got["confidence"][level] == sum(r["confidence"] == level for r in best)
    assert got["confidence"]["unexplained"] == tiny_reader.n_features - len(best)
    assert sum(b["features"] for b in got["best_f1_histogram"]) == len(best)
    assert all(r in best for r in got["random"]) and len(got["random"]) == min(5, len(best))
    by_feature = {r["feature_id"]: r for r in best}
    for p in got["planted"]:  # the SAE's best feature per archetype, and its best rule
        row = by_feature.get(p["feature"])
        assert p["rule"] == (row["rule"] if row else None)
        assert p["matched"] == ("yes" if row and matches(parse(row["rule"]), p["archetype"])
                                else "no")  # fmt: skip
    code, out, _ = splat(capsys, tiny_home, "explanations", "summary")
    assert code == 0 and "planted archetypes" in out and "best held-out F1" in out
