"""Split-half stability, shuffle nulls and the interference test: every number against a
direct computation (numpy loops over the planted arrays, the same seeded split and
permutations re-drawn here, the model run directly on hand-built token lists)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from splat_core.domain.vocab import ABILITIES, MAIN_ONLY, NULL, RUNGS
from splat_core.investigate import interference, names, validate_rule, validate_sweep
from splat_core.investigate import validate_token_effects as validate_tokens
from tests.helpers import N, top_rung

SEED, PERM = 3, 60


def split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng([seed, 3]).permutation(n)
    return np.sort(perm[: n // 2]), np.sort(perm[n // 2 :])


def perms(n: int, n_perm: int, seed: int):
    rng = np.random.default_rng([seed, 1])
    return [rng.permutation(n) for _ in range(n_perm)]


def p_value(observed: float, null: list[float]) -> float:
    hits = sum(x >= observed - 1e-9 * max(abs(observed), 1e-12) for x in null)
    return (1 + hits) / (1 + len(null))


def approx(x):
    return pytest.approx(x, rel=1e-9, abs=1e-12)


# --- sweeps ------------------------------------------------------------------------------------


def sweep_stats(a, rung, levels, min_n):
    """(peak |delta| over rungs with n >= min_n, eta squared) by loops."""
    means = {lv: a[rung == lv].mean() for lv in levels if (rung == lv).any()}
    n0 = (rung == 0).sum()
    peak = max(
        (abs(means[lv] - means[0]) for lv in levels[1:] if (rung == lv).sum() >= min_n),
        default=None,
    )
    if n0 < min_n:
        peak = None
    between = sum((rung == lv).sum() * (m - a.mean()) ** 2 for lv, m in means.items())
    return peak, between / ((a - a.mean()) ** 2).sum()


@pytest.mark.parametrize("f", [0, 2])
def test_sweep_halves_and_null_match_a_direct_computation(
    investigation_reader, investigation_home, f
):
    _, tokens, _, acts = investigation_home
    a = acts[:, f].astype(np.float64)
    rung = np.array([top_rung(t, "swim_speed_up") for t in tokens])
    r = validate_sweep(investigation_reader, f, "SSU", n_perm=PERM, seed=SEED, min_n=3)
    levels = (0, *RUNGS)
    half = split(N, SEED)
    assert [row["rung"] for row in r["rows"]] == [lv for lv in levels if (rung == lv).any()]
    agree = []
    for row in r["rows"]:
        lv, sel = row["rung"], rung == row["rung"]
        assert row["n"] == sel.sum()
        if lv == 0:
            assert row["delta"] is None
            continue
        assert row["delta"] == approx(a[sel].mean() - a[rung == 0].mean())
        n1, n0 = sel.sum(), (rung == 0).sum()
        se = math.sqrt(a[sel].var(ddof=1) / n1 + a[rung == 0].var(ddof=1) / n0) if n1 > 1 else None
        assert row["delta_stderr"] == (None if se is None else approx(se))
        ds, ns = [], []
        for key, h in zip("ab", half, strict=True):
            x, g = a[h], rung[h]
            ns += [(g == lv).sum(), (g == 0).sum()]
            assert row[f"n_{key}"] == (g == lv).sum()
            d = x[g == lv].mean() - x[g == 0].mean() if (g == lv).any() else None
            assert row[f"delta_{key}"] == (None if d is None else approx(d))
            ds.append(d)
        assert row["reliable_both"] == (min(ns) >= 3)
        if row["reliable_both"]:
            agree.append(ds)
    ag = r["agreement"]
    assert ag["n_rungs"] == len(agree)
    assert ag["sign_agreement"] == approx(np.mean([np.sign(x) == np.sign(y) for x, y in agree]))
    if len(agree) >= 3:
        assert ag["pearson_r"] == approx(np.corrcoef(np.array(agree).T)[0, 1])
    # the null: the same permutations, statistics by loops
    peak, eta = sweep_stats(a, rung, levels, 3)
    null = [sweep_stats(a[p], rung, levels, 3) for p in perms(N, PERM, SEED)]
    assert r["peak"]["observed"] == approx(peak)
    assert r["peak"]["p_value"] == p_value(peak, [x[0] for x in null])
    assert r["peak"]["null_mean"] == approx(np.mean([x[0] for x in null]))
    assert r["peak"]["null_p95"] == approx(np.quantile([x[0] for x in null], 0.95))
    assert r["eta_squared"]["observed"] == approx(eta)
    assert r["eta_squared"]["p_value"] == p_value(eta, [x[1] for x in null])
    assert sum(r["eta_squared"]["histogram"]["counts"]) == PERM
    assert r["seed"] == SEED and "60 samples" in r["population"] and r["definitions"]["p_value"]


def test_a_planted_effect_has_a_small_p_value_and_a_random_feature_a_large_one(
    investigation_reader,
):
    planted = validate_sweep(investigation_reader, 0, "SSU", n_perm=200, min_n=3)
    random = validate_sweep(investigation_reader, 2, "SSU", n_perm=200, min_n=3)
    assert planted["eta_squared"]["p_value"] == 1 / 201  # no permutation reaches it
    assert planted["peak"]["p_value"] < 0.01
    assert random["eta_squared"]["p_value"] > 0.1 and random["peak"]["p_value"] > 0.1
    tokens_planted = validate_tokens(investigation_reader, 0, n_perm=200, min_n=3)
    ssu = next(x for x in tokens_planted["rows"] if x["item"] == "swim_speed_up")
    assert ssu["p_value"] == 1 / 201 and ssu["kind"] == "enhancer"
    tokens_random = validate_tokens(investigation_reader, 2, n_perm=200, min_n=3)
    assert all(x["p_bonferroni"] > 0.05 for x in tokens_random["rows"])


def test_main_only_sweep_and_bad_arguments(investigation_reader, investigation_home):
    _, tokens, _, acts = investigation_home
    r = validate_sweep(investigation_reader, 1, "ninja_squid", n_perm=10, min_n=3)
    held = np.array([top_rung(t, "ninja_squid") for t in tokens])
    a = acts[:, 1].astype(np.float64)
    assert [row["rung"] for row in r["rows"]] == [0, 10]
    assert r["rows"][1]["delta"] == approx(a[held == 10].mean() - a[held == 0].mean())
    with pytest.raises(names.UnknownNameError):
        validate_sweep(investigation_reader, 0, "swim")
    with pytest.raises(ValueError, match="n_perm"):
        validate_sweep(investigation_reader, 0, "SSU", n_perm=0)
    with pytest.raises(ValueError, match="seed"):
        validate_tokens(investigation_reader, 0, seed=-1)
    with pytest.raises(KeyError):
        validate_sweep(investigation_reader, 99, "SSU")


# --- token effects -----------------------------------------------------------------------------


def test_token_halves_and_p_values_match_a_direct_computation(
    investigation_reader, investigation_home
):
    _, tokens, _, acts = investigation_home
    f = 0
    a = acts[:, f].astype(np.float64)
    r = validate_tokens(investigation_reader, f, n_perm=PERM, seed=SEED, min_n=3, top_k=4)
    holds = {ab: np.array([top_rung(t, ab) > 0 for t in tokens]) for ab in ABILITIES}

    def delta(x, h):
        return x[h].mean() - x[~h].mean()

    half = split(N, SEED)
    eligible = [
        ab
        for ab in ABILITIES
        if all(min(holds[ab][h].sum(), (~holds[ab][h]).sum()) >= 3 for h in half)
    ]
    da = [delta(a[half[0]], holds[ab][half[0]]) for ab in eligible]
    db = [delta(a[half[1]], holds[ab][half[1]]) for ab in eligible]
    assert r["agreement"]["n_items"] == len(eligible)
    assert r["agreement"]["pearson_r"] == approx(np.corrcoef(da, db)[0, 1])
    top_a = sorted((ab for ab, d in zip(eligible, da, strict=True) if d > 0),
                   key=lambda ab: -da[eligible.index(ab)])[:4]  # fmt: skip
    assert r["agreement"]["top_a"] == top_a
    shared = set(r["agreement"]["top_a"]) & set(r["agreement"]["top_b"])
    assert set(r["agreement"]["top_shared"]) == shared
    assert r["agreement"]["top_overlap"] == len(shared) / 4
    ps = perms(N, PERM, SEED)
    assert r["rows"]
    for row in r["rows"]:
        h = holds[row["item"]]
        obs = delta(a, h)
        assert row["delta"] == approx(obs)
        for key, rows in zip("ab", half, strict=True):
            assert row[f"delta_{key}"] == approx(delta(a[rows], h[rows]))
        null = [abs(delta(a[p], h)) for p in ps]
        assert row["p_value"] == p_value(abs(obs), null)
        assert row["p_bonferroni"] == approx(min(1.0, row["p_value"] * r["n_items_tested"]))
        se = math.sqrt(a[h].var(ddof=1) / h.sum() + a[~h].var(ddof=1) / (~h).sum())
        assert row["delta_stderr"] == approx(se)
    assert "not corrected" in r["note"]


# --- rules -------------------------------------------------------------------------------------


def test_rule_halves_and_null_match_a_direct_computation(tiny_reader):
    r = tiny_reader
    f = int(r.feature_counts().argmax())
    n = r.n_samples
    ssu = np.array(
        [top_rung(r.samples.tokens(i), "swim_speed_up") for i in range(n)]
    )  # the rule by hand
    got = validate_rule(r, f, "swim_speed_up >= 12", n_perm=PERM, seed=SEED)
    holds = ssu >= 12
    ids, values = r.activations(f)
    label = np.zeros(n, bool)
    if got["target"] == "fires":
        label[ids] = True
    else:
        label[ids[values >= np.quantile(values, r.explainer.config.strong_quantile)]] = True

    def f1(h, y):
        return 2 * (h & y).sum() / max(h.sum() + y.sum(), 1)

    for key, rows in zip(("half_a", "half_b"), split(n, SEED), strict=True):
        h, y = holds[rows], label[rows]
        assert got[key]["n_holds"] == h.sum() and got[key]["n_positive"] == y.sum()
        assert got[key]["precision"] == approx((h & y).sum() / max(h.sum(), 1))
        assert got[key]["recall"] == approx((h & y).sum() / max(y.sum(), 1))
        assert got[key]["f1"] == approx(f1(h, y))
    obs = f1(holds, label)
    assert got["all"]["f1"] == approx(obs)
    null = [f1(holds, label[p]) for p in perms(n, PERM, SEED)]
    assert got["f1_null"]["p_value"] == p_value(obs, null)
    assert got["f1_null"]["null_mean"] == approx(np.mean(null))
    held = r.explainer.split.score
    assert got["explainer_split"]["held_out"]["f1"] == approx(f1(holds[held], label[held]))
    # the feature's own best rule beats every shuffle
    best = r.explanations(f)[0]["rule"]
    assert validate_rule(r, f, best, n_perm=PERM)["f1_null"]["p_value"] == 1 / (PERM + 1)


# --- interference ------------------------------------------------------------------------------


def test_interference_matches_the_model_run_directly(investigation_reader):
    r = investigation_reader
    got = interference(r, 0, "SSU", n=10, per_example=True)
    enc = r.encoder
    examples = [e for e in r.top_examples(0, 10) if any("swim_speed_up" in t for t in e.tokens)]
    assert got["n_examples"] == 10 and got["n_holding"] == len(examples)
    rows, tops, lower = [], [], []
    for e in examples:
        ssu = [t for t in e.tokens if t.startswith("swim_speed_up_")]
        top = max(ssu, key=lambda t: int(t.rsplit("_", 1)[1]))
        others = [t for t in e.tokens if not t.startswith("swim_speed_up_")]
        w = enc.weapon_index(e.weapon.weapon_id)
        rows += [
            (w, e.tokens),
            (w, [t for t in e.tokens if t != top] or [NULL]),
            (w, others or [NULL]),
        ]
        tops.append(top), lower.append(len(ssu) > 1)
    a, b, c = enc.forward(rows).acts[:, 0].astype(np.float64).reshape(-1, 3).T  # one batch
    lower = np.array(lower)
    for i, (e, row) in enumerate(zip(examples, got["examples"], strict=True)):
        assert row["sample_id"] == e.sample_id and row["top_token"] == tops[i]
        want = [a[i], b[i], c[i]]
        assert [row["a"], row["b"], row["c"]] == pytest.approx(want, rel=1e-5, abs=1e-5)
    e = got["all_holding"]
    assert e["remove_top"]["mean"] == pytest.approx((b - a).mean(), abs=1e-5)
    se = (c - a).std(ddof=1) / math.sqrt(len(a))
    assert e["remove_family"]["stderr"] == pytest.approx(se, rel=1e-4, abs=1e-6)
    assert e["lower_rungs"]["mean"] == pytest.approx((c - b).mean(), abs=1e-5)
    share = (b - a).mean() / (c - a).mean()
    assert e["top_share"] == pytest.approx(share, rel=1e-4)
    assert e["lower_share"] == pytest.approx(1 - share, rel=1e-4)
    assert got["n_with_lower_rungs"] == lower.sum() == got["with_lower_rungs"]["n"]
    signs = np.random.default_rng([0, 2]).choice([-1.0, 1.0], size=(200, len(a)))
    for key, d in (("remove_top", b - a), ("remove_family", c - a), ("lower_rungs", c - b)):
        null = [abs(np.mean(s * d)) for s in signs]
        assert e[key]["p_value"] == p_value(abs(d.mean()), null)
    assert "top examples" in got["population"]


def test_interference_does_not_apply_to_main_only_abilities(investigation_reader):
    for ability in MAIN_ONLY[:2]:
        got = interference(investigation_reader, 0, ability)
        assert got["applies"] is False and "main-only" in got["reason"]
    with pytest.raises(names.UnknownNameError):
        interference(investigation_reader, 0, "swim")
