"""match_features on two synthetic SAEs whose relation is known by construction (a copy, a
split in two, an absorbed feature, a partial match, unmatched, novel and dead features),
checked against dense numpy computations (np.corrcoef, dense co-firing counts, cosines)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from splat_core.sae.matching import activation_matrix, cross_moments, match_features
from splat_core.sparse import CSRArrays

N, D = 1200, 12


def basis(seed: int = 0) -> np.ndarray:
    """D orthonormal directions as columns."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(D, D)))
    return q


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def pair():
    """(dense A [N, 6], dec A, dense B [N, 8], dec B, facts) as in the module docstring's
    categories: a0 -> b0 copy; a1 -> b1 + b2 (halves); a2 dead; a3 unmatched; a4 -> b5 on
    60% of its samples, b6 (novel, a tilted decoder) on the rest; a5 -> b7 on half only."""
    rng = np.random.default_rng(1)
    e = basis()
    values = rng.integers(2, 7, size=N) * 0.25  # a 0.25 grid: exact sums
    fires = {k: rng.random(N) < p for k, p in ((0, 0.25), (1, 0.3), (3, 0.1), (4, 0.3),
                                               (5, 0.3))}  # fmt: skip
    a, b = np.zeros((N, 6)), np.zeros((N, 8))
    for k, m in fires.items():
        a[m, k] = values[m]
    s1, s4, s5 = (np.flatnonzero(fires[k]) for k in (1, 4, 5))
    half1 = rng.permutation(s1)[: len(s1) // 2]
    part4 = rng.permutation(s4)[: int(0.6 * len(s4))]
    half5 = rng.permutation(s5)[: len(s5) // 2]
    b[:, 0] = a[:, 0]
    b[half1, 1] = a[half1, 1]
    rest1 = np.setdiff1d(s1, half1)
    b[rest1, 2] = a[rest1, 1]
    b[rng.random(N) < 0.2, 3] = 1.0
    b[part4, 5] = a[part4, 4]
    rest4 = np.setdiff1d(s4, part4)
    b[rest4, 6] = a[rest4, 4]
    b[half5, 7] = a[half5, 5]
    dec_a = e[:, :6].copy()
    dec_b = np.stack(
        [e[:, 0], unit(e[:, 1] + 0.1 * e[:, 6]), unit(e[:, 1] - 0.1 * e[:, 6]), e[:, 7],
         e[:, 8], e[:, 4], unit(0.35 * e[:, 4] + e[:, 9]), e[:, 5]], axis=1
    )  # fmt: skip
    facts = {"s1": s1, "half1": half1, "s4": s4, "part4": part4, "s5": s5, "half5": half5}
    return a, dec_a, b, dec_b, facts


@pytest.fixture(scope="module")
def built():
    a, dec_a, b, dec_b, facts = pair()
    m = match_features(dec_a, dec_b, sp.csr_matrix(a), sp.csr_matrix(b))
    return a, dec_a, b, dec_b, facts, m


def test_moments_match_dense_numpy(built):
    a, dec_a, b, dec_b, _, m = built
    live_a, live_b = (a != 0).any(0), (b != 0).any(0)
    full = np.corrcoef(np.concatenate([a[:, live_a], b[:, live_b]], axis=1).T)
    expect = full[: live_a.sum(), live_a.sum() :]
    r = m.moments.correlation
    np.testing.assert_allclose(r[np.ix_(live_a, live_b)], expect, atol=1e-10)
    assert (r[~live_a] == 0).all() and (r[:, ~live_b] == 0).all()
    np.testing.assert_array_equal(m.moments.co_fire, (a != 0).T.astype(int) @ (b != 0))
    np.testing.assert_array_equal(m.moments.n_fire_a, (a != 0).sum(0))
    np.testing.assert_array_equal(m.moments.n_fire_b, (b != 0).sum(0))
    np.testing.assert_allclose(m.cosine, dec_a.T @ dec_b, atol=1e-12)


def test_categories_by_construction(built):
    *_, m = built
    assert list(m.category_a) == ["one_to_one", "split", "dead", "unmatched_a", "absorbed",
                                  "partial"]  # fmt: skip
    assert list(m.category_b) == ["one_to_one", "split", "split", "novel", "dead", "absorbed",
                                  "novel", "partial"]  # fmt: skip
    assert list(m.parent_of_b) == [0, 1, 1, -1, -1, 4, -1, 5]
    c = m.counts
    assert (c["one_to_one"], c["split"], c["absorbed"], c["partial"], c["unmatched_a"],
            c["dead"]) == (1, 1, 1, 1, 1, 1)  # fmt: skip
    assert (c["dead_b"], c["novel_b"], c["unmatched_b"], c["matched_b"], c["split_children_b"],
            c["absorbing_b"]) == (1, 2, 2, 5, 2, 1)  # fmt: skip


def test_split_coverage_and_shares(built):
    a, _, b, _, f, m = built
    row = m.rows_a[1]
    assert sorted(row["children"]) == [1, 2]
    assert row["coverage"] == 1.0 and row["overlap"] == pytest.approx(0.0)
    n1 = len(f["s1"])
    shares = dict(zip(row["children"], row["child_share"], strict=True))
    assert shares[1] == len(f["half1"]) / n1 and shares[2] == (n1 - len(f["half1"])) / n1
    assert row["child_containment"] == [1.0, 1.0]
    r = np.corrcoef(a[:, 1], b[:, 1])[0, 1]
    assert row["child_correlation"][row["children"].index(1)] == pytest.approx(r, abs=1e-10)
    one = m.rows_a[0]
    assert one["children"] == [0] and one["coverage"] == 1.0
    assert one["child_correlation"] == [pytest.approx(1.0)] and one["mutual_b"] == 0


def test_absorbed_and_partial_numbers(built):
    *_, f, m = built
    row = m.rows_a[4]
    n4, k = len(f["s4"]), len(f["part4"])
    assert row["children"] == [5] and row["coverage"] == k / n4
    assert row["absorbers"] == [6] and row["absorber_parent"] == [-1]
    assert row["absorber_samples"] == [n4 - k]
    assert row["absorbed_fraction"] == (n4 - k) / n4
    assert row["absorber_cosine"] == [pytest.approx(0.35 / np.sqrt(1 + 0.35**2))]
    assert m.rows_b[6]["absorbs"] == [4] and m.rows_b[6]["category"] == "novel"
    part = m.rows_a[5]
    assert part["coverage"] == len(f["half5"]) / len(f["s5"]) and part["absorbers"] == []
    assert m.rows_a[3]["children"] == [] and m.rows_a[2]["n_fire"] == 0


def test_hungarian_and_summary(built):
    a, dec_a, b, dec_b, _, m = built
    pairs = dict(zip(m.hungarian["a_ids"], m.hungarian["b_ids"], strict=True))
    assert pairs[0] == 0 and pairs[1] in (1, 2) and pairs[4] == 5 and pairs[5] == 7
    assert set(pairs) == {0, 1, 4, 5} and m.counts["hungarian_pairs"] == 4
    live_a, live_b = (a != 0).any(0), (b != 0).any(0)
    best = (dec_a.T @ dec_b)[np.ix_(live_a, live_b)].max(1)
    assert m.summary["mmcs"] == pytest.approx(best.mean())
    assert m.summary["mmcs_se"] == pytest.approx(best.std(ddof=1) / np.sqrt(len(best)))
    assert "population" in m.summary and m.summary["thresholds"]["cos_min"] == 0.5


def test_absorber_matched_to_another_a_feature():
    """A: p (all of S) and q (a more specific concept, T subset of S, decoder tilted towards
    p's). B: p' fires on S minus T only, q' is q. p is absorbed by q' (q's one-to-one)."""
    rng = np.random.default_rng(3)
    e = basis(1)
    s = rng.random(N) < 0.4
    t = s & (rng.random(N) < 0.4)
    a = np.stack([s * 1.0, t * 1.5], axis=1)
    b = np.stack([(s & ~t) * 1.0, t * 1.5], axis=1)
    dq = unit(e[:, 1] + 0.4 * e[:, 0])
    dec = np.stack([e[:, 0], dq], axis=1)
    m = match_features(dec, dec, sp.csr_matrix(a), sp.csr_matrix(b))
    assert list(m.category_a) == ["absorbed", "one_to_one"]
    row = m.rows_a[0]
    assert row["absorbers"] == [1] and row["absorber_parent"] == [1]
    assert row["coverage"] == (s & ~t).sum() / s.sum()
    assert row["absorbed_fraction"] == t.sum() / s.sum()


def test_inputs_and_errors():
    a, dec_a, b, dec_b, _ = pair()
    ca = sp.csr_matrix(a)
    arrays = CSRArrays(ca.indptr.astype(np.int64), ca.indices.astype(np.uint16),
                       ca.data.astype(np.float32))  # fmt: skip
    assert (activation_matrix(arrays, n_features=6) != ca).nnz == 0
    with pytest.raises(ValueError, match="n_features"):
        activation_matrix(arrays)
    with pytest.raises(ValueError, match="same"):
        cross_moments(ca, sp.csr_matrix(b[:-1]))
    with pytest.raises(ValueError, match="cos_min"):
        match_features(dec_a, dec_b, ca, sp.csr_matrix(b), cos_min=2.0)
    with pytest.raises(ValueError, match="widths"):
        match_features(dec_a[:-1], dec_b, ca, sp.csr_matrix(b))
    # explicit zeros are dropped from a copy, never from the caller's matrix
    z = sp.csr_matrix((np.array([0.0, 1.0]), np.array([0, 1]), np.array([0, 2])), shape=(1, 2))
    assert activation_matrix(z).nnz == 1 and z.nnz == 2


def test_copies_fire_together_and_absorbers_must_fire_instead():
    """Two copies of one feature: one_to_many (overlap 1), a split only if max_overlap allows.
    A candidate absorber firing mostly alongside the child is no absorber."""
    rng = np.random.default_rng(4)
    e = basis(2)
    s = rng.random(N) < 0.4
    a = s[:, None] * 1.0
    b = np.stack([s * 1.0, s * 2.0], axis=1)
    dec_a, dec_b = e[:, :1], np.stack([e[:, 0], unit(e[:, 0] + 0.2 * e[:, 1])], axis=1)
    m = match_features(dec_a, dec_b, sp.csr_matrix(a), sp.csr_matrix(b))
    assert list(m.category_a) == ["one_to_many"] and m.rows_a[0]["overlap"] == 1.0
    assert m.counts["one_to_many_children_b"] == 2
    loose = match_features(dec_a, dec_b, sp.csr_matrix(a), sp.csr_matrix(b), max_overlap=1.0)
    assert list(loose.category_a) == ["split"]
    child = s & (rng.random(N) < 0.6)
    other = s & ((child & (rng.random(N) < 0.5)) | (~child & (rng.random(N) < 0.3)))
    b = np.stack([child * 1.0, other * 1.0], axis=1)
    dec_b = np.stack([e[:, 0], unit(0.35 * e[:, 0] + e[:, 2])], axis=1)
    m = match_features(dec_a, dec_b, sp.csr_matrix(a), sp.csr_matrix(b))
    missed_share = (other & ~child).sum() / other.sum()
    assert missed_share < 0.5
    assert m.rows_a[0]["absorbers"] == [] and m.category_a[0] == "partial"
    m = match_features(dec_a, dec_b, sp.csr_matrix(a), sp.csr_matrix(b),
                       absorb_min_exclusive=missed_share * 0.9)  # fmt: skip
    assert m.rows_a[0]["absorbers"] == [1]
    assert m.rows_a[0]["absorbed_fraction"] == (other & ~child).sum() / s.sum()
    with pytest.raises(ValueError, match="unknown thresholds"):
        match_features(dec_a, dec_b, sp.csr_matrix(a), sp.csr_matrix(b), cos=0.1)
