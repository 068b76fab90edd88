"""The investigation functions on a tiny hand-made home (real writers, planted activations):
every number is checked against a direct computation from the planted arrays."""

from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
import torch

from splat_core import analysis
from splat_core import investigate as inv
from splat_core.builds.samples import SampleTable
from splat_core.builds.table import BuildTable
from splat_core.domain.vocab import (
    MAIN_ONLY,
    MAIN_ONLY_SLOT,
    NULL,
    RUNGS,
    STANDARD,
    Vocab,
    WeaponVocab,
)
from splat_core.domain.weapons import weapon
from splat_core.investigate import names
from splat_core.investigate.interventions import Edit
from splat_core.investigate.population import population
from splat_core.model.set_completion import ModelParams, SetCompletionModel
from splat_core.query import Reader, UnknownFeatureError
from splat_core.sae.config import SAEConfig
from splat_core.sae.topk import TopKSAE
from splat_core.sparse import build_csc, open_csr
from splat_core.store import artifacts, catalog

VOCAB = Vocab.canonical()
WEAPON_IDS = [4050, 4010, 7011, 0]  # two share Curling Bomb, two share Sprinkler
WVOCAB = WeaponVocab.from_weapon_ids(WEAPON_IDS)
N, F, HIDDEN = 60, 4, 8
PLANTED = {  # rung rule cases: out of order, not cumulative
    0: ["swim_speed_up_21", "swim_speed_up_3"],
    1: ["swim_speed_up_12", "swim_speed_up_6", "ninja_squid"],
    2: ["swim_speed_up_38", "swim_speed_up_3", "swim_speed_up_15", "comeback"],
    3: [NULL],
}


def _make_tokens(rng) -> list[list[str]]:
    out = []
    for i in range(N):
        if i in PLANTED:
            out.append(PLANTED[i])
            continue
        toks = []
        for piece in ("head", "clothes", "shoes"):
            if rng.random() < 0.4:
                toks.append(rng.choice([a for a in MAIN_ONLY if MAIN_ONLY_SLOT[a] == piece]))
        for fam in rng.choice(
            ["swim_speed_up", "run_speed_up", "ink_saver_main", "quick_respawn"],
            size=2,
            replace=False,
        ):
            top = rng.choice(RUNGS[:6])
            toks += [f"{fam}_{r}" for r in RUNGS if r <= top and rng.random() < 0.8]
        out.append([str(t) for t in toks] or [NULL])
    return out


def _make_activations(rng, tokens) -> np.ndarray:
    a = np.zeros((N, F), np.float32)
    for i, toks in enumerate(tokens):
        ssu = top_rung(toks, "swim_speed_up")
        if ssu and rng.random() < 0.85:
            a[i, 0] = ssu / 8 + rng.integers(0, 4) * 0.25
        if "ninja_squid" in toks or rng.random() < 0.2:
            a[i, 1] = 1.0 + rng.integers(0, 8) * 0.5
        if rng.random() < 0.5:
            a[i, 2] = rng.integers(1, 9) * 0.125
    a[5, 0] = a[6, 0] = a[0, 0] = 4.0  # ties
    return a  # feature 3 never fires


def top_rung(tokens, ability) -> int:
    """Independent of the code under test: parse the names."""
    if ability in MAIN_ONLY:
        return 10 if ability in tokens else 0
    rungs = [int(t.rsplit("_", 1)[1]) for t in tokens if t.rsplit("_", 1)[0] == ability]
    return max(rungs, default=0)


def _publish(home, asset, write, partition=None):
    catalog.publish_asset(home, asset, write, partition)


def build_home(root):
    """A home with vocab, 2 sample shards, CSR shards, the CSC store, feature_stats, a tiny
    random model and SAE. Returns (home, tokens, weapons (dense index), activations)."""
    rng = np.random.default_rng(7)
    tokens = _make_tokens(rng)
    weapons = rng.integers(0, len(WEAPON_IDS), size=N)
    a = _make_activations(rng, tokens)
    home = root / "home"
    stub = BuildTable(np.zeros(0), np.zeros(1), np.zeros(0), VOCAB, WVOCAB)
    _publish(home, "vocab", lambda d: artifacts.write_vocab_dir(d, VOCAB, WVOCAB))
    for part, (lo, hi) in (("000", (0, 30)), ("001", (30, N))):
        ids = np.arange(lo, hi)
        inputs = BuildTable.from_lists(
            [VOCAB.encode(tokens[i]) for i in ids], weapons[lo:hi], VOCAB, WVOCAB
        )
        table = SampleTable(ids, ids, np.zeros(len(ids), np.int16), inputs)
        _publish(home, "samples", lambda d, t=table: artifacts.write_samples_dir(d, t, stub), part)
        m = sp.csr_matrix(a[lo:hi])
        csr = (m.indptr, m.indices, m.data)
        _publish(
            home,
            "activations",
            lambda d, c=csr, s=lo: artifacts.write_activations_dir(d, c, F, s, {}),
            part,
        )

    def store(d):
        shards = [
            open_csr(catalog.current_path(home, "activations", p) / "csr.zarr")
            for p in ("000", "001")
        ]
        build_csc(shards, d / "csc.zarr", n_features=F, n_samples=N)
        artifacts.mark(d, "feature_store", shape=[N, F])
        return {}

    _publish(home, "feature_store", store)

    def stats(d):
        csc = artifacts.open_artifact(catalog.current_path(home, "feature_store"))
        pq.write_table(analysis.feature_stats(csc, N), d / "feature_stats.parquet")
        artifacts.mark(d, "feature_stats")
        return {}

    _publish(home, "feature_stats", stats)
    torch.manual_seed(0)
    params = ModelParams(
        len(VOCAB), len(WVOCAB), 8, HIDDEN, len(VOCAB), 1, 2, 4, pad_token_id=VOCAB.pad_id
    )
    model = SetCompletionModel.from_params(params).eval()
    _publish(
        home, "base_model", lambda d: artifacts.write_model_dir(d, model, params, {}, "trained")
    )
    sae = TopKSAE(HIDDEN, F, k=2, generator=torch.Generator().manual_seed(1)).eval()
    with torch.no_grad():
        sae.b_enc.copy_(torch.tensor([0.5, 0.2, 0.1, 0.0]))  # feature 0 fires often
    config = SAEConfig(arch="topk", input_dim=HIDDEN, n_features=F, k=2)
    _publish(home, "sae", lambda d: artifacts.write_sae_dir(d, sae, config, {}, "trained"))
    return home, tokens, weapons, a


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_home(tmp_path_factory.mktemp("investigate"))


@pytest.fixture(scope="module")
def reader(tiny):
    with Reader.open(tiny[0]) as r:
        yield r


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


def test_population_holds_the_highest_rung_whatever_the_token_order(reader, tiny):
    _, tokens, _, _ = tiny
    pop = population(reader)
    for i, toks in enumerate(tokens):
        for j, ability in enumerate(names.ABILITY_INDEX):
            assert pop.top[i, j] == top_rung(toks, ability), (i, ability)
    ssu = names.ABILITY_INDEX["swim_speed_up"]
    assert [pop.top[i, ssu] for i in (0, 1, 2, 3)] == [21, 12, 38, 0]


@pytest.mark.parametrize("population", ["all", "firing"])
@pytest.mark.parametrize("family", ["swim_speed_up", "ninja_squid", "run_speed_up"])
def test_family_sweep_groups_by_the_highest_rung(reader, tiny, family, population):
    _, tokens, _, a = tiny
    for f in (0, 1, 2):
        x = a[:, f].astype(np.float64)
        keep = np.ones(N, bool) if population == "all" else x > 0
        rung = np.array([top_rung(t, family) for t in tokens])
        r = inv.family_sweep(reader, f, family, population)
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
    sweep = inv.family_sweep(reader, 0, "SSU")
    by_rung = {row["rung"]: row["n"] for row in sweep["rows"]}
    assert by_rung[21] >= 1 and by_rung[38] >= 1  # samples 0 and 2: not their first token
    assert set(by_rung) <= {0, *RUNGS}


def test_heatmap_cells_and_rung_bins(reader, tiny):
    _, tokens, _, a = tiny
    x = a[:, 0].astype(np.float64)
    rx = np.array([top_rung(t, "swim_speed_up") for t in tokens])
    ry = np.array([top_rung(t, "ninja_squid") for t in tokens])
    r = inv.heatmap(reader, 0, "swim_speed_up", "ninja_squid")
    assert r["x_bins"] == [0, *RUNGS] and r["y_bins"] == [0, 10]
    base = x[(rx == 0) & (ry == 0)].mean()
    want = {(i, j) for i, j in zip(rx, ry, strict=True)}
    assert {(c["x_rung"], c["y_rung"]) for c in r["cells"]} == want
    for c in r["cells"]:
        sel = x[(rx == c["x_rung"]) & (ry == c["y_rung"])]
        assert_stats(c, direct_stats(sel))
        assert c["delta"] == pytest.approx(sel.mean() - base)
    # bins are applied: a sample goes to the largest listed rung at or below its own
    r = inv.heatmap(reader, 0, "SSU", "ninja_squid", x_rungs=[6, 21], y_rungs=[10])
    assert r["x_bins"] == [0, 6, 21]
    bx = np.where(rx >= 21, 21, np.where(rx >= 6, 6, 0))
    for c in r["cells"]:
        sel = x[(bx == c["x_rung"]) & (ry == c["y_rung"])]
        assert c["n"] == len(sel) and c["mean"] == pytest.approx(sel.mean())
    with pytest.raises(KeyError, match="no rung"):
        inv.heatmap(reader, 0, "swim_speed_up", "run_speed_up", x_rungs=[41])
    with pytest.raises(ValueError, match="two different"):
        inv.heatmap(reader, 0, "SSU", "swim_speed_up")


def test_weapon_and_kit_sweeps(reader, tiny):
    _, _, weapons, a = tiny
    x = a[:, 1].astype(np.float64)
    r = inv.weapon_sweep(reader, 1, min_n=1, top_k=10)
    assert r["weapons"]["mean"] == pytest.approx(x.mean())
    rows = r["weapons"]["rows"]
    assert [row["mean"] for row in rows] == sorted((row["mean"] for row in rows), reverse=True)
    assert {row["key"] for row in rows} == {str(WEAPON_IDS[w]) for w in set(weapons.tolist())}
    for row in rows:
        sel = x[weapons == WEAPON_IDS.index(int(row["key"]))]
        assert_stats(row, direct_stats(sel))
        assert row["delta"] == pytest.approx(sel.mean() - x.mean())
        assert row["name"] == weapon(int(row["key"])).name
    kit = inv.kit_sweep(reader, 1, min_n=1)
    for kind, attr in (("sub", "sub"), ("special", "special")):
        labels = np.array([getattr(weapon(WEAPON_IDS[w]), attr) for w in weapons])
        for row in kit[kind]["rows"]:
            assert_stats(row, direct_stats(x[labels == row["key"]]))
    curling = next(row for row in kit["sub"]["rows"] if row["key"] == "Curling Bomb")
    assert curling["n"] == int(np.isin(weapons, [0, 3]).sum())  # 4050 and 0
    big = inv.weapon_sweep(reader, 1, min_n=N)["weapons"]
    assert big["rows"] == [] and big["n_groups"] == 0


def test_binary_sweep_and_the_percentile_rule(reader, tiny):
    _, tokens, _, a = tiny
    x = a[:, 1].astype(np.float64)
    nz = x[x > 0]
    r = inv.binary_sweep(reader, 1, high_quantile=0.9, min_n=2)
    assert r["high_threshold"] == pytest.approx(np.quantile(nz, 0.9))  # 0.9 is the 90th pct
    high = x >= np.quantile(nz, 0.9)
    assert r["n_high"] == int(high.sum()) and 0 < r["n_high"] < len(nz)
    assert inv.binary_sweep(reader, 1, 0.5, 2)["high_threshold"] == pytest.approx(np.median(nz))
    for bad in (90, 1.0, 0, -0.1):
        with pytest.raises(ValueError, match="fraction"):
            inv.binary_sweep(reader, 1, high_quantile=bad)
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


def test_token_effects_match_direct_statistics(reader, tiny):
    _, tokens, _, a = tiny
    x = a[:, 0].astype(np.float64)
    r = inv.token_effects(reader, 0, high_quantile=0.8, min_n=3, top_k=100)
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
    collapsed = inv.token_effects(reader, 0, collapse=True, min_n=3, top_k=100)
    ssu = next(e for e in collapsed["enhancers"] if e["item"] == "swim_speed_up")
    has = np.array([top_rung(t, "swim_speed_up") > 0 for t in tokens])
    assert ssu["n_with"] == has.sum() and ssu["mean_with"] == pytest.approx(x[has].mean())


def test_regions_coverage_and_kits(reader, tiny):
    _, tokens, weapons, a = tiny
    x = a[:, 0].astype(np.float64)
    m = np.quantile(x[x > 0], 0.995)
    core, tail = (x > 0.25 * m) & (x <= 0.75 * m), x > 0.9 * m
    r = inv.coverage(reader, 0)
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
    reg = inv.regions(reader, 0)
    assert sum(x_["n"] for x_ in reg["regions"]) == (x > 0).sum()
    core_row = next(x_ for x_ in reg["regions"] if x_["region"] == "core")
    assert core_row["n"] == core.sum()
    kit = inv.kits(reader, 0, "core")
    subs = [weapon(WEAPON_IDS[w]).sub for w in weapons[core]]
    assert {k["key"]: k["count"] for k in kit["sub"]} == {s: subs.count(s) for s in set(subs)}


def test_overview_numbers(reader, tiny):
    _, tokens, weapons, a = tiny
    x = a[:, 0].astype(np.float64)
    nz = x[x > 0]
    o = inv.overview(
        reader, 0, top_k=50, n_contexts=3, enrichment=True, regions=True, binary=True, kits=True
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
    never = inv.overview(reader, 3)
    assert never["stats"]["n_firing"] == 0 and never["stats"]["relu_floor_share"] == 1.0
    assert never["top_tokens"] == [] and never["sample_contexts"] == []


def test_overview_shows_the_stored_label(tiny, tmp_path):
    labels = pytest.importorskip("splat_core.labels")
    if not hasattr(labels, "LabelStore"):
        pytest.skip("the label store is not there yet")
    import shutil

    home = tmp_path / "home"
    shutil.copytree(tiny[0], home)
    labels.LabelStore.open(home).set(1, name="Ninja squid", category="mechanical")
    with Reader.open(home) as r:
        label = inv.overview(r, 1)["label"]
    assert label["name"] == "Ninja squid" and label["category"] == "mechanical"


# --- decoder ----------------------------------------------------------------------------------


def test_decoder_analysis_is_w_out_times_the_decoder_direction(reader):
    enc = reader.encoder
    w = enc.model.output_layer.weight.detach().double().numpy()
    d = enc.sae.decoder_directions().detach().double().numpy()
    content = VOCAB.content_ids()
    infl = w[content] @ d  # [138, F]
    names_ = [VOCAB.id_to_token[i] for i in content]
    for f in range(F):
        r = inv.decoder_analysis(reader, f, top_k=5, n_similar=2)
        order = np.argsort(-infl[:, f], kind="stable")
        assert [p["token"] for p in r["promoted"]] == [names_[i] for i in order[:5]]
        assert [p["value"] for p in r["promoted"]] == pytest.approx(infl[order[:5], f])
        assert [s["token"] for s in r["suppressed"]] == [names_[i] for i in order[::-1][:5]]
        norms = np.linalg.norm(infl, axis=0)
        assert r["influence_norm"] == pytest.approx(norms[f])
        assert r["influence_norm_percentile"] == pytest.approx(100 * (norms <= norms[f]).mean())
        assert r["decoder_norm"] == pytest.approx(1.0) and r["decoder_norms_equal"]
        cos = d.T @ d[:, f]
        cos[f] = -np.inf
        assert [s["feature_id"] for s in r["similar"]] == np.argsort(-cos)[:2].tolist()
        stats = reader.stats(f)
        typical = np.array([reader.stats(g)["mean_nonzero"] or 0 for g in range(F)]) * norms
        assert r["importance"] == pytest.approx((stats["mean_nonzero"] or 0) * norms[f])
        assert r["importance_percentile"] == pytest.approx(100 * (typical <= typical[f]).mean())
        ssu = next(x for x in r["families"] if x["ability"] == "swim_speed_up")
        rows = [i for i, t in enumerate(names_) if t.startswith("swim_speed_up_")]
        assert ssu["mean"] == pytest.approx(infl[rows, f].mean()) and ssu["n_tokens"] == 9
    r = inv.decoder_analysis(reader, 0, top_k=200, exclude=["SSU"])
    assert all(p["ability"] != "swim_speed_up" for p in r["promoted"] + r["suppressed"])
    assert all(p["ability"] == "swim_speed_up" for p in r["excluded_promoted"])


# --- interventions ----------------------------------------------------------------------------


def run_direct(reader, rows):
    """[B, F] activations of (weapon id, tokens) rows, one at a time through model and SAE."""
    enc = reader.encoder
    out = []
    with torch.no_grad():
        for w, toks in rows:
            t = torch.tensor([VOCAB.encode(toks)])
            pooled = enc.model.pooled(t, torch.tensor([[WVOCAB.index_of(w)]]))
            out.append(enc.sae.encode(pooled)[0].numpy())
    return np.array(out)


def edit_direct(kind, target, toks, w):
    """The expected edit, written out plainly."""
    toks = [t for t in toks if t != NULL]
    if kind == "weapon":
        return None if int(target) == w else (toks or [NULL], int(target))
    if kind == "add":
        return None if target in toks else (toks + [target], w)
    if kind == "remove":
        gone = [t for t in toks if t == target or t.rsplit("_", 1)[0] == target]
        return None if not gone else ([t for t in toks if t not in gone] or [NULL], w)
    fam, rung = target
    missing = [f"{fam}_{r}" for r in RUNGS if r <= rung and f"{fam}_{r}" not in toks]
    return None if not missing else (toks + missing, w)


def legal(toks) -> bool:
    mains = [t for t in toks if t in MAIN_ONLY]
    pieces = [MAIN_ONLY_SLOT[t] for t in mains]
    ap = 10 * len(mains) + sum(top_rung(toks, f) for f in STANDARD)
    return len(set(pieces)) == len(pieces) and ap <= 57


def test_whatif_over_examples_equals_direct_reruns(reader, tiny):
    _, tokens, weapons, a = tiny
    edits = inv.parse_edits(
        WVOCAB,
        add=["stealth_jump", "SSU_29"],
        remove=["swim_speed_up", "swim_speed_up_3", "ninja_squid"],
        raise_=["run_speed_up=57"],
        weapons=["7011"],
    )
    r = inv.whatif_examples(reader, 0, edits, n=12, per_example=True)
    top = np.lexsort((np.arange(N), -a[:, 0]))[:12]
    rows = [(WEAPON_IDS[weapons[i]], tokens[i]) for i in top]
    base = run_direct(reader, rows)[:, 0]
    assert r["n_examples"] == 12 and r["stored_mean"] == pytest.approx(a[top, 0].mean())
    assert r["base_mean"] == pytest.approx(base.mean(), abs=1e-5)
    specs = {
        "add stealth_jump": ("add", "stealth_jump"),
        "add swim_speed_up_29": ("add", "swim_speed_up_29"),
        "remove swim_speed_up": ("remove", "swim_speed_up"),
        "remove swim_speed_up_3": ("remove", "swim_speed_up_3"),
        "remove ninja_squid": ("remove", "ninja_squid"),
        "raise run_speed_up=57": ("raise", ("run_speed_up", 57)),
        "weapon 7011": ("weapon", "7011"),
    }
    assert {e["edit"] for e in r["edits"]} == set(specs)
    for e in r["edits"]:
        kind, target = specs[e["edit"]]
        new = [edit_direct(kind, target, t, w) for w, t in rows]
        ok = [i for i, x in enumerate(new) if x is not None and legal(x[0])]
        assert e["n_noop"] == sum(x is None for x in new)
        assert e["n_illegal"] == sum(x is not None and not legal(x[0]) for x in new)
        assert e["n_applied"] == len(ok)
        if not ok:
            assert e["mean_delta"] is None
            continue
        after = run_direct(reader, [(new[i][1], new[i][0]) for i in ok])[:, 0]
        delta = after - base[ok]
        assert e["mean_delta"] == pytest.approx(delta.mean(), abs=1e-5)
        assert e["median_delta"] == pytest.approx(np.median(delta), abs=1e-5)
        assert e["frac_off"] == pytest.approx(((base[ok] > 0) & (after == 0)).mean())
        assert [x["sample_id"] for x in e["examples"]] == top[ok].tolist()
    assert any(e["n_illegal"] for e in r["edits"])  # raising to 57 AP breaks the budget
    assert all(e["reliable"] == (e["n_applied"] >= 20) for e in r["edits"])
    order = [abs(e["mean_delta"]) for e in r["edits"] if e["mean_delta"] is not None]
    assert order == sorted(order, reverse=True)  # 12 examples: none reliable, plain order
    default = inv.whatif_examples(reader, 0, n=5)
    kinds = {e["kind"] for e in default["edits"]}
    assert kinds == {"add", "remove", "raise"}


def test_whatif_core_examples_are_seeded_and_in_the_core(reader, tiny):
    a = tiny[3][:, 0]
    m = np.quantile(a[a > 0].astype(np.float64), 0.995)
    r = inv.whatif_examples(
        reader,
        0,
        inv.parse_edits(WVOCAB, weapons=["0"]),
        n=4,
        source="core",
        seed=3,
        per_example=True,
    )
    ids = [x["sample_id"] for x in r["edits"][0]["examples"]]
    assert all(0.25 * m < a[i] <= 0.75 * m for i in ids)
    again = inv.whatif_examples(
        reader,
        0,
        inv.parse_edits(WVOCAB, weapons=["0"]),
        n=4,
        source="core",
        seed=3,
        per_example=True,
    )
    assert again == r


def test_whatif_on_one_build(reader):
    build = {"swim_speed_up": 12, "ninja_squid": 10}
    toks = ["ninja_squid", "swim_speed_up_3", "swim_speed_up_6", "swim_speed_up_12"]
    edits = inv.parse_edits(
        WVOCAB,
        add=["haunt", "comeback"],
        remove=["SSU"],
        raise_=["swim_speed_up=21"],
        weapons=["4050"],
    )
    r = inv.whatif_build(reader, 0, 4010, build, edits)
    assert r["tokens"] == toks
    base = run_direct(reader, [(4010, toks)])[0, 0]
    assert r["activation"] == pytest.approx(base, abs=1e-5)
    by = {v["edit"]: v for v in r["variants"]}
    assert by["add haunt"]["skipped"].startswith("ninja_squid and haunt")
    want = {
        "add comeback": (4010, toks + ["comeback"]),
        "remove swim_speed_up": (4010, ["ninja_squid"]),
        "raise swim_speed_up=21": (4010, toks + ["swim_speed_up_15", "swim_speed_up_21"]),
        "weapon 4050": (4050, toks),
    }
    for edit, (w, t) in want.items():
        v = by[edit]
        assert (v["weapon_id"], v["tokens"], v["skipped"]) == (w, t, None)
        assert v["delta"] == pytest.approx(run_direct(reader, [(w, t)])[0, 0] - base, abs=1e-5)
    every = inv.whatif_build(reader, 0, 4010, build)
    assert every["activation"] == pytest.approx(base, abs=1e-5)
    assert any(v["edit"] == "weapon 7011" for v in every["variants"])


def test_unknown_names_and_features_raise(reader):
    assert names.ability("ssu") == "swim_speed_up" and names.token("SSU_21") == "swim_speed_up_21"
    assert names.token("SJ") == "stealth_jump" and names.family("QR") == "quick_respawn"
    for call, match in (
        (lambda: names.ability("nope"), "unknown ability family"),
        (lambda: names.family("ninja_squid"), "main-only"),
        (lambda: names.token("swim_speed_up_41"), "rung"),
        (lambda: names.token("foo_3"), "unknown"),
        (lambda: names.weapon(WVOCAB, 8000), "unknown weapon"),
        (lambda: inv.parse_edits(WVOCAB, raise_=["swim_speed_up"]), "FAMILY"),
        (lambda: inv.family_sweep(reader, 0, "swim"), "unknown ability"),
    ):
        with pytest.raises(KeyError, match=match) as err:
            call()
        assert "'" not in str(err.value)[:1]  # a readable message, not a quoted repr
    for call in (
        lambda: inv.overview(reader, F),
        lambda: inv.family_sweep(reader, -1, "SSU"),
        lambda: inv.decoder_analysis(reader, F),
        lambda: inv.whatif_examples(reader, 99),
    ):
        with pytest.raises(UnknownFeatureError):
            call()
    with pytest.raises(ValueError, match="population"):
        inv.family_sweep(reader, 0, "SSU", "some")
    assert str(Edit("raise", "swim_speed_up", 21)) == "raise swim_speed_up=21"
