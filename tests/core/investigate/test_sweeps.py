"""Populations, sweeps, token effects, regions and the overview on the hand-made
investigation home (tests/helpers.py: real writers, planted activations): every number is
checked against a direct computation from the planted arrays."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from splat_core import investigate as inv
from splat_core.domain.vocab import (
    MAIN_ONLY,
    RUNGS,
)
from splat_core.domain.weapons import weapon
from splat_core.investigate import names
from splat_core.investigate.population import population
from splat_core.labels import LabelStore
from splat_core.query import Reader
from tests.helpers import WEAPON_IDS, N, top_rung


def direct_stats(x: np.ndarray) -> dict:
    n = len(x)
    std = float(np.std(x, ddof=1)) if n > 1 else None
    fire = int((x > 0).sum())
    return {
        "n": n,
        "mean": float(x.mean()),
        "std": std,
        "stderr": std / math.sqrt(n) if n > 1 else None,
        "n_firing": fire,
        "firing_rate": fire / n,
        "mean_firing": float(x[x > 0].mean()) if fire else None,
    }


def assert_stats(got: dict, want: dict) -> None:
    for k, v in want.items():
        assert got[k] == (pytest.approx(v, rel=1e-9, abs=1e-12) if v is not None else None), k


# --- populations and the rung rule ------------------------------------------------------------


def test_population_holds_the_highest_rung_whatever_the_token_order(
    investigation_reader, investigation_home
):
    _, tokens, _, _ = investigation_home
    pop = population(investigation_reader)
    for i, toks in enumerate(tokens):
        for j, ability in enumerate(names.ABILITY_INDEX):
            assert pop.top[i, j] == top_rung(toks, ability), (i, ability)
    ssu = names.ABILITY_INDEX["swim_speed_up"]
    assert [pop.top[i, ssu] for i in (0, 1, 2, 3)] == [21, 12, 38, 0]


@pytest.mark.parametrize("population", ["all", "firing"])
@pytest.mark.parametrize("family", ["swim_speed_up", "ninja_squid", "run_speed_up"])
def test_family_sweep_groups_by_the_highest_rung(
    investigation_reader, investigation_home, family, population
):
    _, tokens, _, a = investigation_home
    for f in (0, 1, 2):
        x = a[:, f].astype(np.float64)
        keep = np.ones(N, bool) if population == "all" else x > 0
        rung = np.array([top_rung(t, family) for t in tokens])
        r = inv.family_sweep(investigation_reader, f, family, population)
        levels = (0, 10) if family in MAIN_ONLY else (0, *RUNGS)
        present = [lv for lv in levels if ((rung == lv) & keep).any()]
        assert [row["rung"] for row in r["rows"]] == present
        assert r["empty_rungs"] == [lv for lv in levels if lv not in present]
        base = x[keep & (rung == 0)].mean() if 0 in present else None
        for row in r["rows"]:
            sel = x[keep & (rung == row["rung"])]
            assert_stats(row, direct_stats(sel))
            if base is not None:
                assert row["delta"] == pytest.approx(sel.mean() - base)
            assert row["reliable"] == (len(sel) >= 20)
        assert str(int(keep.sum())) in r["population"].replace(",", "")
        assert r["population"].startswith("all" if population == "all" else "the")
    sweep = inv.family_sweep(investigation_reader, 0, "SSU")
    by_rung = {row["rung"]: row["n"] for row in sweep["rows"]}
    assert by_rung[21] >= 1 and by_rung[38] >= 1  # samples 0 and 2: not their first token
    assert set(by_rung) <= {0, *RUNGS}


def test_heatmap_cells_and_rung_bins(investigation_reader, investigation_home):
    _, tokens, _, a = investigation_home
    x = a[:, 0].astype(np.float64)
    rx = np.array([top_rung(t, "swim_speed_up") for t in tokens])
    ry = np.array([top_rung(t, "ninja_squid") for t in tokens])
    r = inv.heatmap(investigation_reader, 0, "swim_speed_up", "ninja_squid")
    assert r["x_bins"] == [0, *RUNGS] and r["y_bins"] == [0, 10]
    base = x[(rx == 0) & (ry == 0)].mean()
    want = {(i, j) for i, j in zip(rx, ry, strict=True)}
    assert {(c["x_rung"], c["y_rung"]) for c in r["cells"]} == want
    for c in r["cells"]:
        sel = x[(rx == c["x_rung"]) & (ry == c["y_rung"])]
        assert_stats(c, direct_stats(sel))
        assert c["delta"] == pytest.approx(sel.mean() - base)
    # bins are applied: a sample goes to the largest listed rung at or below its own
    r = inv.heatmap(investigation_reader, 0, "SSU", "ninja_squid", x_rungs=[6, 21], y_rungs=[10])
    assert r["x_bins"] == [0, 6, 21]
    bx = np.where(rx >= 21, 21, np.where(rx >= 6, 6, 0))
    for c in r["cells"]:
        sel = x[(bx == c["x_rung"]) & (ry == c["y_rung"])]
        assert c["n"] == len(sel) and c["mean"] == pytest.approx(sel.mean())
    with pytest.raises(KeyError, match="no rung"):
        inv.heatmap(investigation_reader, 0, "swim_speed_up", "run_speed_up", x_rungs=[41])
    with pytest.raises(ValueError, match="two different"):
        inv.heatmap(investigation_reader, 0, "SSU", "swim_speed_up")


def test_weapon_and_kit_sweeps(investigation_reader, investigation_home):
    _, _, weapons, a = investigation_home
    x = a[:, 1].astype(np.float64)
    r = inv.weapon_sweep(investigation_reader, 1, min_n=1, top_k=10)
    assert r["weapons"]["mean"] == pytest.approx(x.mean())
    rows = r["weapons"]["rows"]
    assert [row["mean"] for row in rows] == sorted((row["mean"] for row in rows), reverse=True)
    assert {row["key"] for row in rows} == {str(WEAPON_IDS[w]) for w in set(weapons.tolist())}
    for row in rows:
        sel = x[weapons == WEAPON_IDS.index(int(row["key"]))]
        assert_stats(row, direct_stats(sel))
        assert row["delta"] == pytest.approx(sel.mean() - x.mean())
        assert row["name"] == weapon(int(row["key"])).name
    kit = inv.kit_sweep(investigation_reader, 1, min_n=1)
    for kind, attr in (("sub", "sub"), ("special", "special")):
        labels = np.array([getattr(weapon(WEAPON_IDS[w]), attr) for w in weapons])
        for row in kit[kind]["rows"]:
            assert_stats(row, direct_stats(x[labels == row["key"]]))
    curling = next(row for row in kit["sub"]["rows"] if row["key"] == "Curling Bomb")
    assert curling["n"] == int(np.isin(weapons, [0, 3]).sum())  # 4050 and 0
    big = inv.weapon_sweep(investigation_reader, 1, min_n=N)["weapons"]
    assert big["rows"] == [] and big["n_groups"] == 0


def test_binary_sweep_and_the_percentile_rule(investigation_reader, investigation_home):
    _, tokens, _, a = investigation_home
    x = a[:, 1].astype(np.float64)
    nz = x[x > 0]
    r = inv.binary_sweep(investigation_reader, 1, high_quantile=0.9, min_n=2)
    assert r["high_threshold"] == pytest.approx(np.quantile(nz, 0.9))  # 0.9 is the 90th pct
    high = x >= np.quantile(nz, 0.9)
    assert r["n_high"] == int(high.sum()) and 0 < r["n_high"] < len(nz)
    assert inv.binary_sweep(investigation_reader, 1, 0.5, 2)["high_threshold"] == pytest.approx(
        np.median(nz)
    )
    for bad in (90, 1.0, 0, -0.1):
        with pytest.raises(ValueError, match="fraction"):
            inv.binary_sweep(investigation_reader, 1, high_quantile=bad)
    tested = {row["ability"] for row in r["rows"]}
    for ability in MAIN_ONLY:
        has = np.array([ability in t for t in tokens])
        if has.sum() < 2:
            assert ability in r["skipped_low_n"]
            continue
        assert ability in tested
        row = next(x_ for x_ in r["rows"] if x_["ability"] == ability)
        assert row["n_with"] == has.sum() and row["n_without"] == N - has.sum()
        assert row["mean_with"] == pytest.approx(x[has].mean())
        assert row["mean_without"] == pytest.approx(x[~has].mean())
        assert row["delta"] == pytest.approx(x[has].mean() - x[~has].mean())
        pooled = math.sqrt(
            (((x[has] - x[has].mean()) ** 2).sum() + ((x[~has] - x[~has].mean()) ** 2).sum())
            / (N - 2)
        )
        assert row["cohens_d"] == pytest.approx((x[has].mean() - x[~has].mean()) / pooled)
        assert row["rate_all"] == pytest.approx(has.mean())
        assert row["rate_high"] == pytest.approx(has[high].mean())
        assert row["enrichment"] == pytest.approx(has[high].mean() / has.mean())
        e = row["enrichment"]
        assert row["flag"] == ("enriched" if e > 1.5 else "depleted" if e < 0.5 else "")
    deltas = [abs(row["delta"]) for row in r["rows"]]
    assert deltas == sorted(deltas, reverse=True)


def test_token_effects_match_direct_statistics(investigation_reader, investigation_home):
    _, tokens, _, a = investigation_home
    x = a[:, 0].astype(np.float64)
    r = inv.token_effects(investigation_reader, 0, high_quantile=0.8, min_n=3, top_k=100)
    thr = np.quantile(x[x > 0], 0.8)
    high = x >= thr
    assert r["high_threshold"] == pytest.approx(thr) and r["n_high"] == high.sum()
    want_enh, want_sup = set(), set()
    for tok in {t for ts in tokens for t in ts}:
        has = np.array([tok in t for t in tokens])
        if has.sum() < 3 or (~has).sum() < 3:
            continue
        delta = x[has].mean() - x[~has].mean()
        ratio = has[high].mean() / has.mean()
        if ratio > 1.2 and delta > 0:
            want_enh.add(tok)
        if ratio < 0.8 and delta < 0 and has.mean() >= 0.01:
            want_sup.add(tok)
    assert {e["item"] for e in r["enhancers"]} == want_enh
    assert {s["item"] for s in r["suppressors"]} == want_sup
    assert "swim_speed_up_3" in want_enh
    for row in r["enhancers"] + r["suppressors"]:
        has = np.array([row["item"] in t for t in tokens])
        assert row["delta"] == pytest.approx(x[has].mean() - x[~has].mean())
        assert row["std_with"] == pytest.approx(np.std(x[has], ddof=1))
        assert row["std_without"] == pytest.approx(np.std(x[~has], ddof=1))
        assert row["firing_with"] == pytest.approx((x[has] > 0).mean())
        assert row["ratio"] == pytest.approx(has[high].mean() / has.mean())
    collapsed = inv.token_effects(investigation_reader, 0, collapse=True, min_n=3, top_k=100)
    ssu = next(e for e in collapsed["enhancers"] if e["item"] == "swim_speed_up")
    has = np.array([top_rung(t, "swim_speed_up") > 0 for t in tokens])
    assert ssu["n_with"] == has.sum() and ssu["mean_with"] == pytest.approx(x[has].mean())


def test_regions_coverage_and_kits(investigation_reader, investigation_home):
    _, tokens, weapons, a = investigation_home
    x = a[:, 0].astype(np.float64)
    m = np.quantile(x[x > 0], 0.995)
    core, tail = (x > 0.25 * m) & (x <= 0.75 * m), x > 0.9 * m
    r = inv.coverage(investigation_reader, 0)
    assert r["effective_max"] == pytest.approx(m)
    assert (r["n_core"], r["n_tail"]) == (core.sum(), tail.sum())
    for row in r["abilities"]:
        has = np.array([top_rung(t, row["ability"]) > 0 for t in tokens])
        c, t = has[core].mean(), has[tail].mean()
        assert (row["core_coverage"], row["tail_coverage"]) == (pytest.approx(c), pytest.approx(t))
        verdict = (
            "headline"
            if c >= 0.5
            else "supporting"
            if c >= 0.3
            else "tail_marker"
            if t > c
            else "minor"
        )
        assert row["verdict"] == verdict
    reg = inv.regions(investigation_reader, 0)
    assert sum(x_["n"] for x_ in reg["regions"]) == (x > 0).sum()
    core_row = next(x_ for x_ in reg["regions"] if x_["region"] == "core")
    assert core_row["n"] == core.sum()
    kit = inv.kits(investigation_reader, 0, "core")
    subs = [weapon(WEAPON_IDS[w]).sub for w in weapons[core]]
    assert {k["key"]: k["count"] for k in kit["sub"]} == {s: subs.count(s) for s in set(subs)}


def test_overview_numbers(investigation_reader, investigation_home):
    _, tokens, weapons, a = investigation_home
    x = a[:, 0].astype(np.float64)
    nz = x[x > 0]
    o = inv.overview(
        investigation_reader,
        0,
        top_k=50,
        n_contexts=3,
        enrichment=True,
        regions=True,
        binary=True,
        kits=True,
    )
    s = o["stats"]
    assert (s["n_samples"], s["n_firing"]) == (N, len(nz))
    assert s["relu_floor_share"] == pytest.approx((x == 0).mean())
    assert s["mean_all"] == pytest.approx(x.mean()) and s["mean_firing"] == pytest.approx(nz.mean())
    assert s["p90_firing"] == pytest.approx(np.quantile(nz, 0.9))
    assert s["effective_max"] == pytest.approx(np.quantile(nz, 0.995))
    for row in o["top_tokens"]:
        has = np.array([row["token"] in t for t in tokens])
        assert row["coverage"] == pytest.approx(x[has].sum() / x.sum())
        assert row["base_rate"] == pytest.approx(has.mean())
        assert row["coverage"] > row["base_rate"]
    shares = {r["ability"]: r["share"] for r in o["ability_shares"]}
    held = [[ab for ab in names.ABILITY_INDEX if top_rung(t, ab)] for t in tokens]
    total = sum(x[i] * len(h) for i, h in enumerate(held))
    for ab, share in shares.items():
        assert share == pytest.approx(sum(x[i] for i, h in enumerate(held) if ab in h) / total)
    assert sum(shares.values()) == pytest.approx(1.0)
    for row in o["top_weapons"]:
        sel = weapons == WEAPON_IDS.index(row["weapon_id"])
        assert row["share"] == pytest.approx(x[sel].sum() / x.sum())
        assert row["base_share"] == pytest.approx(sel.mean())
    top = np.lexsort((np.arange(N), -x))[:3]
    assert [c["sample_id"] for c in o["sample_contexts"]] == top.tolist()
    assert [c["tokens"] for c in o["sample_contexts"]] == [tokens[i] for i in top]
    assert o["label"] is None
    assert {"token_effects", "regions", "coverage", "binary", "kits"} <= set(o)
    never = inv.overview(investigation_reader, 3)
    assert never["stats"]["n_firing"] == 0 and never["stats"]["relu_floor_share"] == 1.0
    assert never["top_tokens"] == [] and never["sample_contexts"] == []


def test_overview_shows_the_stored_label(investigation_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(investigation_home[0], home)
    LabelStore.open(home).set(1, name="Ninja squid", category="mechanical")
    with Reader.open(home) as r:
        label = inv.overview(r, 1)["label"]
    assert label["name"] == "Ninja squid" and label["category"] == "mechanical"
