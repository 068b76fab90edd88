"""Explanations against the generator's planted truth, and the tiny home's table against a
direct rescoring of its own rules."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from splat_core.builds.archetypes import ARCHETYPES
from splat_core.builds.sample_meta import SampleMeta
from splat_core.explain.inputs import InputTable
from splat_core.explain.planted import defining, matches
from splat_core.explain.rules import parse
from splat_core.explain.search import ExplainConfig, Explainer
from splat_core.store.artifacts import open_artifact


def test_defining_abilities_and_classes():
    runner = defining("runner")
    assert runner.abilities == {"run_speed_up"}  # the others weigh under half of the top
    assert runner.classes == {"splatling", "stringer"}  # stringer: a tie with backline_anchor
    zombie = defining("zombie")
    assert {"quick_respawn", "comeback", "stealth_jump"} <= zombie.abilities
    assert "swim_speed_up" not in zombie.abilities  # weighted 0.5 of 3 on mains, 1 of 5 on subs
    with pytest.raises(KeyError):
        defining("coverage")


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("quick_respawn >= 12 | comeback", "zombie", True),
        ("run_speed_up >= 6 & class = splatling", "runner", True),
        ("class = splatling", "runner", False),  # a class alone names no ability
        ("swim_speed_up >= 12 | weapon = 1010 | class = shooter", "runner", False),
        ("special_power_up >= 6 | weapon = \"Tenta Sorella Brella\"", "special_nuker", True),
        ("special_power_up >= 6 & no comeback", "special_nuker", True),  # absences are neutral
    ],
)  # fmt: skip
def test_matching_a_rule_to_an_archetype(text, name, expected):
    assert matches(parse(text), name) is expected


def test_the_planted_archetypes_are_recovered_from_the_inputs(tiny_reader):
    """The search, given the planted label itself (samples of an archetype's builds), names
    the archetype's defining abilities: the ceiling of any feature's explanation."""
    idx = tiny_reader.samples
    meta = SampleMeta(idx.weapon, idx.offsets, idx.token_ids, idx.vocab, idx.weapon_vocab)
    builds = open_artifact(tiny_reader.path("builds"))
    archetype = builds.archetype[idx.build_id]
    explainer = Explainer(InputTable.from_meta(meta), ExplainConfig())
    matched, f1 = 0, []
    for code, name in enumerate(builds.archetype_names):
        if name not in {a.name for a in ARCHETYPES}:
            continue
        ids = np.flatnonzero(archetype == code)
        best = explainer.explain(code, ids, np.ones(len(ids), np.float32))[0]
        matched += matches(best.rule, name)
        f1.append(best.scores.f1)
        assert best.scores.f1 > 2 * best.scores.null_f1
    # measured on the tiny profile: 10 of 10 matched, held-out F1 0.71-0.91 (7 >= 0.8)
    assert matched >= 9 and sum(x >= 0.8 for x in f1) >= 5 and min(f1) >= 0.6


def test_the_stored_scores_are_what_the_rules_score(tiny_reader):
    """Every stored rank-1 row's held-out numbers equal a fresh scoring of its rule text
    (read from the Parquet file with pyarrow, not through the Reader)."""
    path = tiny_reader.path("feature_explanations") / "feature_explanations.parquet"
    rows = pq.read_table(path).to_pylist()
    assert rows and {r["confidence"] for r in rows} <= {"high", "medium", "low", "none"}
    explainer = tiny_reader.explainer
    for r in [r for r in rows if r["rank"] == 1][:12]:
        ids, values = tiny_reader.activations(r["feature_id"])
        target = explainer.targets(ids, values)[r["target"]]
        s = explainer.score(parse(r["rule"]), target, ids, values, r["feature_id"])
        for k in ("precision", "recall", "f1", "coverage", "null_f1", "n_positive"):
            assert getattr(s, k) == pytest.approx(r[k]), (r["feature_id"], k)
