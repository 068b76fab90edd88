"""absorption on synthetic rung data whose answer is known by construction: a parent feature
silent exactly where the top rung is held and a top-rung feature firing there instead, a
same-rung feature pointing the other way, a split parent; checked against direct numpy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from splat_core.analysis.absorption import absorption, best_tokens, rung_families, token_presence
from splat_core.builds.sample_meta import SampleMeta
from splat_core.domain.vocab import RUNGS, STANDARD, Vocab, WeaponVocab

N, D = 3000, 8
FAMILIES = {"x": [0, 1, 2], "y": [3, 4]}  # token ids, lowest rung first; token 5: other


def unit(v):
    return v / np.linalg.norm(v)


def world(seed: int = 0, split_parent: bool = False):
    """(dense presence [N, 6], dense acts [N, F], dec [D, F], level of x per sample).
    f0: x held at level 1-2 (silent at level 3); f1: x's top rung (level 3), decoder tilted
    towards f0's; f2: y; f3: token 5; f4: x's middle rung, decoder tilted away from f0's.
    split_parent: f0 becomes f0 and f5, each on a random half of its samples."""
    rng = np.random.default_rng(seed)
    e, _ = np.linalg.qr(rng.normal(size=(D, D)))
    level = rng.choice(4, size=N, p=[0.4, 0.25, 0.15, 0.2])
    ylev = rng.choice(3, size=N, p=[0.7, 0.2, 0.1])
    tok5 = rng.random(N) < 0.15
    coin = rng.random(N) < 0.5
    pres = np.stack([level >= 1, level >= 2, level >= 3, ylev >= 1, ylev >= 2, tok5], 1)
    dropped = (level >= 2) & (rng.random(N) < 0.1)  # partial inputs: a lower rung left out
    pres[dropped, 0] = False
    vals = rng.integers(1, 9, size=N) * 0.5
    parent = (level == 1) | (level == 2)
    fires = [parent, level == 3, ylev >= 1, tok5, level >= 2]
    dirs = [e[:, 0], unit(e[:, 1] + 0.5 * e[:, 0]), e[:, 2], e[:, 3], unit(e[:, 4] - 0.5 * e[:, 0])]
    if split_parent:
        fires[0] = parent & coin
        fires.append(parent & ~coin)
        dirs.append(unit(e[:, 0] + 0.2 * e[:, 5]))
    acts = np.stack([np.where(f, vals, 0.0) for f in fires], 1)
    return pres, acts, np.stack(dirs, 1), level


def run(pres, acts, dec, **kw):
    kw.setdefault("min_support", 100)
    return absorption(sp.csr_matrix(acts), dec, sp.csr_matrix(pres), FAMILIES,
                      token_names=[f"t{i}" for i in range(6)], **kw)  # fmt: skip


def direct(pres, acts, main, cols):
    """F1, precision, recall, false negatives of 'a main feature fires' for the parent."""
    y = pres[:, cols].any(1)
    fired = (acts[:, main] != 0).any(1)
    tp = (fired & y).sum()
    return 2 * tp / (fired.sum() + y.sum()), tp / fired.sum(), tp / y.sum(), y & ~fired


@pytest.fixture(scope="module")
def made():
    pres, acts, dec, level = world()
    return pres, acts, dec, level, run(pres, acts, dec)


def test_absorption_rate_equals_construction(made):
    pres, acts, dec, level, out = made
    x, y = out["families"]
    present = level >= 1
    assert x["family"] == "x" and x["n_present"] == present.sum()
    assert x["main_features"] == [0]
    assert x["n_absorbed"] == (level == 3).sum() == x["n_false_negative"]
    assert x["absorption_rate"] == (level == 3).sum() / present.sum()
    p = x["absorption_rate"]
    assert x["absorption_rate_se"] == pytest.approx(np.sqrt(p * (1 - p) / present.sum()))
    assert x["absorbed_share_of_fn"] == 1.0
    [ab] = x["absorbers"]
    assert (ab["feature"], ab["token_id"], ab["token"]) == (1, 2, "t2")
    assert ab["cosine"] == pytest.approx(0.5 / np.sqrt(1.25)) and ab["token_f1"] == 1.0
    assert ab["n_samples"] == (level == 3).sum()
    # f4 (x's middle rung) also fires on those samples, but points away from f0
    assert x["n_absorbed_any_cosine"] == x["n_absorbed"] and x["n_child_rung_features"] == 2
    f1, prec, rec, fn = direct(pres, acts, [0], FAMILIES["x"])
    assert (x["f1"], x["precision"], x["recall"]) == pytest.approx((f1, prec, rec))
    assert x["main_f1"] == [pytest.approx(f1)] and x["n_false_negative"] == fn.sum()
    assert y["main_features"] == [2] and y["f1"] == 1.0 and y["absorption_rate"] == 0.0
    assert out["n_supported"] == 2
    rates = np.array([x["absorption_rate"], 0.0])
    assert out["mean_absorption_rate"] == pytest.approx(rates.mean())
    assert out["mean_absorption_rate_se"] == pytest.approx(rates.std(ddof=1) / np.sqrt(2))
    assert "population" in out and "absorption_rate" in out["definitions"]


def test_best_tokens_against_loops(made):
    pres, acts, *_ = made
    tok, f1 = best_tokens(sp.csr_matrix(acts), sp.csr_matrix(pres))
    for f in range(acts.shape[1]):
        fire = acts[:, f] != 0
        scores = [2 * (fire & pres[:, t]).sum() / (fire.sum() + pres[:, t].sum())
                  for t in range(pres.shape[1])]  # fmt: skip
        assert tok[f] == int(np.argmax(scores)) and f1[f] == pytest.approx(max(scores))
    assert list(tok) == [0, 2, 3, 5, 1]


def test_cosine_criterion_and_lowest_parent(made):
    pres, acts, dec, level, _ = made
    x = run(pres, acts, dec, absorb_cos_min=0.5)["families"][0]
    assert x["n_absorbed"] == 0 and x["absorbers"] == []
    assert x["n_absorbed_any_cosine"] == (level == 3).sum()
    low = run(pres, acts, dec, parent="lowest")["families"][0]
    assert low["n_present"] == pres[:, 0].sum() < (level >= 1).sum()
    f1, prec, rec, fn = direct(pres, acts, low["main_features"], [0])
    assert (low["f1"], low["precision"], low["recall"]) == pytest.approx((f1, prec, rec))
    assert low["n_absorbed"] == (fn & (level == 3)).sum()


def test_split_parent_found_by_greedy_union():
    pres, acts, dec, level = world(split_parent=True)
    x = run(pres, acts, dec)["families"][0]
    assert sorted(x["main_features"]) == [0, 5]
    f1, *_ = direct(pres, acts, [0, 5], FAMILIES["x"])
    assert x["f1"] == pytest.approx(f1)
    assert x["absorption_rate"] == (level == 3).sum() / (level >= 1).sum()
    one = run(pres, acts, dec, k_main=1)["families"][0]
    assert len(one["main_features"]) == 1 and one["recall"] < x["recall"]
    assert one["n_absorbed"] == x["n_absorbed"]  # the other half is not a child rung


def test_support_and_errors(made):
    pres, acts, dec, *_ = made
    out = run(pres, acts, dec, min_support=N)
    assert out["n_supported"] == 0 and out["mean_absorption_rate"] is None
    with pytest.raises(ValueError, match="parent"):
        run(pres, acts, dec, parent="top")
    with pytest.raises(ValueError, match="samples"):
        absorption(sp.csr_matrix(acts), dec, sp.csr_matrix(pres[:-1]), FAMILIES)
    with pytest.raises(ValueError, match="family"):
        absorption(sp.csr_matrix(acts), dec, sp.csr_matrix(pres), {"x": [0, 9]})


def test_presence_and_families_from_the_vocabulary():
    vocab = Vocab.canonical()
    fams = rung_families(vocab)
    assert list(fams) == list(STANDARD)
    assert all(ids == [vocab.token_to_id[f"{f}_{r}"] for r in RUNGS] for f, ids in fams.items())
    ids = np.array([fams["swim_speed_up"][0], fams["swim_speed_up"][2], 0, 5, 7], np.int32)
    meta = SampleMeta(np.zeros(3), np.array([0, 2, 2, 5]), ids, vocab,
                      WeaponVocab.from_weapon_ids([0]))  # fmt: skip
    p = token_presence(meta)
    assert p.shape == (3, len(vocab)) and p.dtype == bool
    dense = np.zeros((3, len(vocab)), bool)
    dense[0, ids[:2]] = dense[2, ids[2:]] = True
    np.testing.assert_array_equal(p.toarray(), dense)
