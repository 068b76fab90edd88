"""Interactions, minimal activating sets and contrastive itemsets against direct
computations: the model and the SAE run by hand one build at a time, subsets enumerated by
brute force, itemsets counted sample by sample."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
import torch

from splat_core.domain.vocab import MAIN_ONLY, MAIN_ONLY_SLOT, NULL, RUNGS, STANDARD
from splat_core.investigate import interactions as ix
from splat_core.investigate.interventions import pick_examples
from splat_core.investigate.itemsets import contrastive_itemsets
from splat_core.investigate.names import UnknownNameError
from splat_core.query import UnknownFeatureError
from tests.helpers import top_rung


def direct(reader, rows, f) -> np.ndarray:
    """Feature f on (weapon id, tokens) rows, one build at a time through model and SAE."""
    enc = reader.encoder
    out = []
    with torch.no_grad():
        for w, toks in rows:
            t = torch.tensor([enc.vocab.encode(list(toks) or [NULL])])
            pooled = enc.model.pooled(t, torch.tensor([[enc.weapon_vocab.index_of(w)]]))
            out.append(float(enc.sae.encode(pooled)[0, f]))
    return np.array(out)


def set_plain(toks, fam, rung):
    """The family's tokens removed, then its rungs up to `rung` added: written out plainly."""
    out = [t for t in toks if t != NULL and t != fam and t.rsplit("_", 1)[0] != fam]
    if rung and fam in MAIN_ONLY:
        return out + [fam]
    return out + [f"{fam}_{r}" for r in RUNGS if 0 < r <= rung]


def legal(toks) -> bool:
    mains = [t for t in toks if t in MAIN_ONLY]
    pieces = [MAIN_ONLY_SLOT[t] for t in mains]
    ap = 10 * len(mains) + sum(top_rung(toks, f) for f in STANDARD)
    return len(set(pieces)) == len(pieces) and ap <= 57


def mean_se(v):
    v = np.asarray(v, dtype=np.float64)
    return v.mean(), (v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else None)


def firing(reader) -> int:
    return next(f for f in range(reader.encoder.sae.n_features) if reader.top_examples(f, 8))


def cell_acts(reader, f, ex, fams, rungs):
    toks = ex.tokens
    for fam, r in zip(fams, rungs, strict=True):
        toks = set_plain(toks, fam, r)
    return direct(reader, [(ex.weapon.weapon_id, toks)], f)[0] if legal(toks) else np.nan


def test_interaction_terms_equal_direct_reruns(tiny_reader):
    r, f = tiny_reader, firing(tiny_reader)
    x, y, gx, gy = "swim_speed_up", "ninja_squid", (0, 12, 38), (0, 10)
    out = ix.interaction(r, f, "SSU", "ns", x_rungs=(12, 38), y_rungs=(10,), n=6)
    examples = r.top_examples(f, 6)
    a = np.array(
        [[[cell_acts(r, f, e, (x, y), (rx, ry)) for ry in gy] for rx in gx] for e in examples]
    )
    assert (out["x"], out["y"], out["x_grid"], out["y_grid"]) == (x, y, list(gx), list(gy))
    assert out["n_examples"] == 6 and "6 top examples" in out["population"]
    assert out["n_illegal"] == int(np.isnan(a).sum())
    cells = {(c["x_rung"], c["y_rung"]): c for c in out["cells"]}
    for i, rx in enumerate(gx):
        for j, ry in enumerate(gy):
            c = cells[rx, ry]
            ok = a[:, i, j][~np.isnan(a[:, i, j])]
            assert c["n"] == len(ok) and c["n_illegal"] == len(a) - len(ok)
            if len(ok):
                assert c["mean"] == pytest.approx(ok.mean(), abs=1e-5)
            term = a[:, i, j] - a[:, i, 0] - a[:, 0, j] + a[:, 0, 0]
            term = term[~np.isnan(term)]
            assert c["interaction_n"] == len(term)
            if len(term):
                m, se = mean_se(term)
                assert c["interaction"] == pytest.approx(m, abs=1e-5)
                if se is not None:
                    assert c["interaction_stderr"] == pytest.approx(se, abs=1e-5)
    main = {m["rung"]: m for m in out["main_x"]}
    d = a[:, 2, 0] - a[:, 0, 0]
    assert main[38]["mean"] == pytest.approx(d[~np.isnan(d)].mean(), abs=1e-5)
    inner = [c for c in out["cells"] if c["x_rung"] and c["y_rung"] and c["z"] is not None]
    assert not any(c["reliable"] for c in out["cells"])  # 6 examples: none reliable
    if inner:
        assert abs(out["strongest"]["z"]) == max(abs(c["z"]) for c in inner)


def test_three_way_term_equals_direct_reruns(tiny_reader):
    r, f = tiny_reader, firing(tiny_reader)
    fams, rungs = ("swim_speed_up", "run_speed_up", "ninja_squid"), (6, 12, 10)
    out = ix.interaction3(r, f, *fams, rungs=(6, 12, 10), n=5)
    examples = r.top_examples(f, 5)
    cube = np.array(
        [
            [
                [[cell_acts(r, f, e, fams, (b0 * 6, b1 * 12, b2 * 10)) for b2 in (0, 1)]
                 for b1 in (0, 1)]
                for b0 in (0, 1)
            ]
            for e in examples
        ]
    )  # fmt: skip
    three = (
        cube[:, 1, 1, 1] - cube[:, 1, 1, 0] - cube[:, 1, 0, 1] - cube[:, 0, 1, 1]
        + cube[:, 1, 0, 0] + cube[:, 0, 1, 0] + cube[:, 0, 0, 1] - cube[:, 0, 0, 0]
    )  # fmt: skip
    three = three[~np.isnan(three)]
    assert out["rungs"] == list(rungs) and out["three_way"]["n"] == len(three)
    assert out["n_illegal"] == int(np.isnan(cube).sum())
    if len(three):
        assert out["three_way"]["mean"] == pytest.approx(three.mean(), abs=1e-5)
    xy = cube[:, 1, 1, 0] - cube[:, 1, 0, 0] - cube[:, 0, 1, 0] + cube[:, 0, 0, 0]
    xy = xy[~np.isnan(xy)]
    pair = out["pairwise"][0]
    assert pair["families"] == list(fams[:2]) and pair["absent"] == fams[2]
    assert pair["n"] == len(xy) and pair["mean"] == pytest.approx(xy.mean(), abs=1e-5)
    assert pair["stderr"] == pytest.approx(mean_se(xy)[1], abs=1e-5)


def brute_force(reader, f, ex, fraction):
    toks = list(dict.fromkeys(t for t in ex.tokens if t != NULL))
    full = direct(reader, [(ex.weapon.weapon_id, toks)], f)[0]
    for k in range(len(toks) + 1):
        subsets = list(combinations(toks, k))
        acts = direct(reader, [(ex.weapon.weapon_id, s) for s in subsets], f)
        hits = {
            tuple(sorted(s)) for s, v in zip(subsets, acts, strict=True) if v >= fraction * full
        }
        if hits:
            return full, hits
    raise AssertionError("the full set always qualifies")


@pytest.mark.parametrize("source", ["top", "core"])
def test_minimal_sets_equal_brute_force(tiny_reader, source):
    r, f = tiny_reader, firing(tiny_reader)
    examples = pick_examples(r, f, 8, source, 1)
    out = ix.minimal_sets(r, f, 8, 0.7, 7, 128, source=source, seed=1)
    assert out["n_examples"] == len(examples) == len(out["examples"]) >= 4
    assert ("core-region" in out["population"]) == (source == "core")
    small = 0
    for ex, got in zip(examples, out["examples"], strict=True):
        m = len(got["tokens"])
        assert got["sample_id"] == ex.sample_id
        if m > 7 or got["activation"] <= 0:
            continue
        small += 1
        full, hits = brute_force(r, f, ex, 0.7)
        assert got["activation"] == pytest.approx(full, abs=1e-5) and got["complete"]
        assert {tuple(s["tokens"]) for s in got["sets"]} == hits
        assert got["weapon_alone"] == (hits == {()})
        assert got["n_evals"] == sum(
            len(list(combinations(range(m), k))) for k in range(got["min_size"] + 1)
        )
    assert small >= 2
    counted = {tuple(s["tokens"]): s["n_examples"] for s in out["sets"]}
    by_hand: dict = {}
    for got in out["examples"]:
        for s in got["sets"]:
            by_hand[tuple(s["tokens"])] = by_hand.get(tuple(s["tokens"]), 0) + 1
    assert counted == by_hand
    done = [g for g in out["examples"] if g["complete"]]
    for share in out["token_shares"]:
        n = sum(any(share["token"] in s["tokens"] for s in g["sets"]) for g in done)
        assert share["share"] == pytest.approx(n / len(done))


def test_minimal_sets_report_a_cut_search(tiny_reader):
    r, f = tiny_reader, firing(tiny_reader)
    out = ix.minimal_sets(r, f, n=4, fraction=1.0, max_tokens=2, max_evals=3)
    for g in out["examples"]:
        m = len(g["tokens"])
        if not g["complete"] and g["activation"] > 0:
            assert g["min_size"] is None and g["n_evals"] <= 3
            assert ("max_tokens" in g["note"]) == (m > 2)
    assert out["n_incomplete"] == sum(not g["complete"] for g in out["examples"])


@pytest.mark.parametrize("collapse", [True, False])
def test_itemsets_equal_direct_counts(investigation_reader, investigation_home, collapse):
    _, tokens, _, a = investigation_home
    q, min_support, f = 0.5, 0.2, 0
    out = contrastive_itemsets(
        investigation_reader,
        f,
        q,
        max_size=3,
        min_support=min_support,
        top_k=500,
        collapse=collapse,
    )
    v = a[:, f].astype(np.float64)
    t = np.quantile(v[v > 0], q)
    high = (v >= t) & (v > 0)
    key = (lambda tok: tok if tok in MAIN_ONLY else tok.rsplit("_", 1)[0]) if collapse else str
    held = [{key(tok) for tok in toks if tok != NULL} for toks in tokens]
    hi = [held[i] for i in np.flatnonzero(high)]
    min_count = int(np.ceil(min_support * len(hi)))
    want = []
    for k in (1, 2, 3):
        for s in combinations(sorted(set().union(*hi)), k):
            c = sum(set(s) <= h for h in hi)
            if c >= min_count:
                c_all = sum(set(s) <= h for h in held)
                lift = (c / len(hi)) / (c_all / len(held))
                want.append((list(s), c, c_all, lift))
    want.sort(key=lambda w: (-w[3], -w[1] / len(hi), len(w[0]), w[0]))
    assert out["n_high"] == int(high.sum()) and out["n_all"] == len(v)
    assert out["min_count"] == min_count and out["high_threshold"] == pytest.approx(t)
    ranked = [(-s["lift"], -s["support_high"]) for s in out["itemsets"]]
    assert ranked == sorted(ranked)  # ties (equal lift and support) in any order below
    got = [(sorted(s["items"]), s["count"], s["count_all"], s["lift"]) for s in out["itemsets"]]
    got.sort(key=lambda w: (-w[3], -w[1] / len(hi), len(w[0]), w[0]))
    assert [g[:3] for g in got] == [w[:3] for w in want]
    np.testing.assert_allclose([g[3] for g in got], [w[3] for w in want])
    assert any(len(s["items"]) > 1 for s in out["itemsets"])
    s = out["itemsets"][0]
    assert s["support_high"] == pytest.approx(s["count"] / out["n_high"])
    assert s["support_all"] == pytest.approx(s["count_all"] / out["n_all"])


def test_bad_parameters_raise(investigation_reader):
    r = investigation_reader
    for call, err, match in (
        (lambda: ix.interaction(r, 0, "SSU", "swim_speed_up"), ValueError, "differ"),
        (lambda: ix.interaction(r, 0, "SSU", "nope"), UnknownNameError, "unknown ability"),
        (lambda: ix.interaction(r, 0, "SSU", "RSU", x_rungs=(7,)), UnknownNameError, "rung"),
        (lambda: ix.interaction(r, 0, "SSU", "RSU", n=100_000), ValueError, "bound"),
        (lambda: ix.interaction(r, 99, "SSU", "RSU"), UnknownFeatureError, None),
        (lambda: ix.interaction3(r, 0, "SSU", "RSU", "QR", rungs=(3, 6)), ValueError, "three"),
        (lambda: ix.minimal_sets(r, 0, fraction=0), ValueError, "fraction"),
        (lambda: contrastive_itemsets(r, 0, high_quantile=90), ValueError, "fraction"),
        (lambda: contrastive_itemsets(r, 0, max_size=9), ValueError, "max_size"),
    ):
        with pytest.raises(err, match=match):
            call()
