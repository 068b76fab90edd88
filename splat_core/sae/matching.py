"""Two SAEs trained on the same pooled vectors, feature by feature ("Full vs Ultra").

Which features of the smaller SAE A survive as one feature of the larger SAE B, which
*split* into several (Bricken et al. 2023, "Towards Monosemanticity", feature splitting),
which are partly *absorbed* by a more specific feature (Chanin et al. 2024, "A is for
Absorption"), and which features of either side have no counterpart.

Two similarities per pair (a, b), over the same N samples:

- decoder cosine: cos(d_a, d_b) of the unit decoder columns (the dictionary comparison of
  Sharkey et al. 2022, whose mean max cosine `mmcs` the summary also gives);
- activation Pearson r over ALL N samples, zeros included (Bricken et al.'s activation
  similarity), from co-moments: r = (N sum ab - S_a S_b) / sqrt((N Q_a - S_a^2)(N Q_b - S_b^2)),
  S the sum and Q the sum of squares of a feature's activations. sum ab is A^T B, summed
  pair by co-firing pair into a dense [Fa, Fb] array (compiled loops): never dense [N, F].

A pair is *linked* when both fire, cos >= cos_min and r >= corr_min. Each live B feature
goes to the A feature it is linked to with the highest score (cos + r) / 2, its *parent*
(none: B is *novel*); an A feature's *children* are the B features whose parent it is, so
every B feature is the child of at most one A feature. A feature's firing set is the samples
where its activation is nonzero. For a live A feature a with firing set S_a (n_a samples):

- coverage = |S_a ∩ (∪ children's firing sets)| / n_a; a child's share = |S_a ∩ S_b| / n_a
  and its containment = |S_a ∩ S_b| / n_b (the fraction of b's firing inside a's);
  overlap = sum(shares) / coverage - 1 (0: the children partition what they cover);
- missed samples: S_a where no child fires;
- absorbers: live B features that are not children of a, fire almost only inside a's
  samples (containment >= absorb_min_containment: a sub-concept of a), whose decoder keeps a
  component along a's (cos >= absorb_cos_min), and which fire *instead of* the children:
  at least absorb_min_exclusive of their firing inside S_a falls on missed samples. This is
  the "more specific latent that fires in place of the parent" of Chanin et al.; an absorber
  may be another A feature's child or novel (the absorbing concept, say one specific token,
  often has no feature of its own in the smaller SAE): `absorber_parent` says which.
  absorbed_fraction = the fraction of S_a that is missed and where an absorber fires.

Categories of a live A feature (first that applies):
  unmatched_a  no children;
  one_to_one   one child, coverage >= min_coverage;
  split        two or more children, coverage >= min_coverage, overlap <= max_overlap: the
               children divide a's samples among them (Bricken et al.'s feature splitting);
  one_to_many  two or more children, coverage >= min_coverage, overlap > max_overlap: they
               fire together, near copies rather than a split;
  absorbed     coverage < min_coverage, absorbed_fraction > 0 and coverage +
               absorbed_fraction >= min_coverage: its children take part of its samples
               and features fitted to other concepts take the rest;
  partial      children exist but cover too little and no absorber makes up the rest.
A feature that never fires is `dead` (either side), counted apart and never linked. A live B
feature takes its parent's category (`novel` without a parent). Separately, a one-to-one
assignment maximising the total score over linked pairs (Hungarian,
scipy.optimize.linear_sum_assignment) and the mutual best pairs are reported.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numba as nb
import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

from splat_core.sparse import CSCStore, CSRArrays, CSRStore

_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
THREADS = max(1, min(8, _CPUS or 1))  # threads over blocks of A features (same result)
CONSTANT = 1e-12  # N*Q - S^2 at or below this fraction of N*Q is rounding: zero variance
A_CATEGORIES = ("one_to_one", "split", "one_to_many", "absorbed", "partial", "unmatched_a",
                "dead")  # fmt: skip


class MatchThresholds(NamedTuple):
    """The thresholds of match_features (module docstring)."""

    cos_min: float = 0.5
    corr_min: float = 0.3
    min_coverage: float = 0.8
    max_overlap: float = 0.5
    absorb_cos_min: float = 0.2
    absorb_min_containment: float = 0.8
    absorb_min_exclusive: float = 0.5

    def check(self) -> None:
        for name in ("cos_min", "corr_min", "absorb_cos_min"):
            if not -1.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [-1, 1], got {getattr(self, name)}")
        for name in ("min_coverage", "absorb_min_containment", "absorb_min_exclusive"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if self.max_overlap < 0:
            raise ValueError(f"max_overlap must be >= 0, got {self.max_overlap}")


class CrossMoments(NamedTuple):
    """Activation statistics of every pair (a, b) over the same samples."""

    correlation: np.ndarray
    """float64 [Fa, Fb] Pearson r over all samples (0 where either feature is constant)."""
    co_fire: np.ndarray
    """int64 [Fa, Fb] samples where both fire."""
    n_fire_a: np.ndarray
    """int64 [Fa] samples where each A feature fires."""
    n_fire_b: np.ndarray
    """int64 [Fb] samples where each B feature fires."""
    n_samples: int
    """N, the samples both matrices cover."""


class FeatureMatching(NamedTuple):
    """match_features' answer; the module docstring defines every term."""

    cosine: np.ndarray
    """float64 [Fa, Fb] decoder cosine."""
    moments: CrossMoments
    """Pearson r, co-firing counts and firing counts."""
    parent_of_b: np.ndarray
    """int64 [Fb] the A feature each B feature is a child of, -1 for none."""
    category_a: np.ndarray
    """object [Fa] category of each A feature."""
    category_b: np.ndarray
    """object [Fb] category of each B feature (its parent's, `novel` or `dead`)."""
    rows_a: list[dict]
    """One dict per A feature: a_id, category, n_fire, children, child_cosine,
    child_correlation, child_share, child_containment, coverage, overlap, absorbers,
    absorber_parent, absorber_cosine, absorber_samples, absorbed_fraction, best_b,
    best_cosine, best_correlation, hungarian_b, mutual_b (-1: none)."""
    rows_b: list[dict]
    """One dict per B feature: b_id, category, n_fire, parent, cosine, correlation,
    containment (of its firing in the parent's), absorbs (A ids it is an absorber of)."""
    hungarian: dict
    """a_ids, b_ids, cosine, correlation (lists): the linked pairs of the assignment."""
    counts: dict
    """Number of A features per category (A_CATEGORIES), and of B features: dead_b, novel_b
    (= unmatched_b), matched_b, split_children_b, one_to_many_children_b, absorbing_b;
    hungarian_pairs and mutual_pairs."""
    summary: dict
    """population, thresholds, definitions, mmcs and mean max correlation with SEs."""


def activation_matrix(
    acts, n_features: int | None = None, n_samples: int | None = None
) -> sp.csr_matrix:
    """Activations as a scipy CSR [N, F] without stored zeros, from a scipy sparse matrix,
    `CSRArrays` (needs n_features), a `CSCStore` (the feature store, read whole), a
    `CSRStore` or a sequence of them (`Reader.activation_shards()`, stacked in sample
    order). Checks the shape against n_samples / n_features when given."""
    if isinstance(acts, CSRArrays):
        if n_features is None:
            raise ValueError("CSRArrays need n_features")
        rows = len(acts.indptr) - 1
        m = sp.csr_matrix((acts.data, acts.indices, acts.indptr), shape=(rows, int(n_features)))
    elif isinstance(acts, CSCStore):
        m = sp.csc_matrix(
            (acts.data.read(0, acts.nnz), acts.indices.read(0, acts.nnz), acts.indptr),
            shape=acts.shape,
        ).tocsr()
    elif isinstance(acts, CSRStore):
        m = acts.row_slice(0, acts.n_rows)
    elif isinstance(acts, Sequence) and acts and all(isinstance(s, CSRStore) for s in acts):
        stores = sorted(acts, key=lambda s: s.sample_start)
        m = sp.vstack([s.row_slice(0, s.n_rows) for s in stores], format="csr")
    elif sp.issparse(acts):
        m = sp.csr_matrix(acts)
    else:
        raise ValueError(f"activations must be sparse (got {type(acts).__name__})")
    if not m.has_canonical_format or (m.data == 0).any():
        m = m.copy()  # the arrays may be the caller's: clean a copy
        m.sum_duplicates()
        m.eliminate_zeros()
    if n_features is not None and m.shape[1] != n_features:
        raise ValueError(f"activations have {m.shape[1]} features, expected {n_features}")
    if n_samples is not None and m.shape[0] != n_samples:
        raise ValueError(f"activations have {m.shape[0]} samples, expected {n_samples}")
    return m


def cross_moments(a, b) -> CrossMoments:
    """Pearson r and co-firing of every (A feature, B feature) pair; a and b are [N, Fa]
    and [N, Fb] over the same samples (anything activation_matrix takes). sum ab is
    accumulated row by row of the dense [Fa, Fb] result (A feature-major, B sample-major,
    threads over blocks of A features): memory is the two matrices and the results."""
    a, b = activation_matrix(a), activation_matrix(b)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"A covers {a.shape[0]} samples, B {b.shape[0]}: they must be the same")
    n, fa, fb = a.shape[0], a.shape[1], b.shape[1]
    a_csc = a.tocsc()
    a_csc.sort_indices()
    dots, both = np.zeros((fa, fb)), np.zeros((fa, fb), np.int64)
    cuts = np.searchsorted(a_csc.indptr, np.linspace(0, a_csc.nnz, THREADS + 1), "left")
    cuts[0], cuts[-1] = 0, fa
    blocks = [(int(x), int(y)) for x, y in zip(cuts[:-1], cuts[1:], strict=True) if y > x]
    args = (a_csc.indptr, a_csc.indices, a_csc.data, b.indptr, b.indices, b.data, dots, both)
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda blk: _cross_rows(blk[0], blk[1], *args), blocks))
    sa, qa, na = _column_sums(a)
    sb, qb, nb_ = _column_sums(b)
    denom = np.outer(_spread(n, sa, qa), _spread(n, sb, qb))
    num = n * dots - np.outer(sa, sb)
    r = np.divide(num, denom, out=np.zeros_like(num), where=denom > 0)
    return CrossMoments(np.clip(r, -1.0, 1.0), both, na, nb_, n)


@nb.njit(nogil=True, cache=True)
def _cross_rows(f0, f1, a_ptr, a_rows, a_val, b_ptr, b_cols, b_val, dots, both):
    """dots[i, j] += a_i b_j and both[i, j] += 1 over the samples where A feature i (in
    [f0, f1)) and B feature j both fire; each row in its own samples' order."""
    for i in range(f0, f1):
        for p in range(a_ptr[i], a_ptr[i + 1]):
            s = a_rows[p]
            v = np.float64(a_val[p])
            for q in range(b_ptr[s], b_ptr[s + 1]):
                j = b_cols[q]
                dots[i, j] += v * np.float64(b_val[q])
                both[i, j] += 1


def _column_sums(m: sp.csr_matrix):
    f = m.shape[1]
    data = m.data.astype(np.float64)
    sums = np.bincount(m.indices, weights=data, minlength=f)
    squares = np.bincount(m.indices, weights=data * data, minlength=f)
    return sums, squares, np.bincount(m.indices, minlength=f).astype(np.int64)


def _spread(n: int, sums: np.ndarray, squares: np.ndarray) -> np.ndarray:
    """sqrt(N Q - S^2), 0 for a constant feature."""
    var = n * squares - sums * sums
    return np.where(var > CONSTANT * n * squares, np.sqrt(np.maximum(var, 0.0)), 0.0)


def _unit_columns(dec) -> np.ndarray:
    dec = dec.detach().cpu().numpy() if hasattr(dec, "detach") else dec
    dec = np.asarray(dec, dtype=np.float64)
    if dec.ndim != 2:
        raise ValueError(f"decoder directions must be [d, F], got shape {dec.shape}")
    norms = np.linalg.norm(dec, axis=0)
    return dec / np.where(norms > 0, norms, 1.0)


def match_features(
    dec_a,
    dec_b,
    acts_a,
    acts_b,
    **thresholds: float,
) -> FeatureMatching:
    """Match SAE A's features (decoder [d, Fa], activations [N, Fa]) to SAE B's (decoder
    [d, Fb], activations [N, Fb]) over the same N samples; see the module docstring for
    the definitions. Decoders may be numpy arrays or tensors (`decoder_directions()`),
    activations anything activation_matrix takes (CSRArrays, CSRStore shards, a CSCStore,
    scipy). `thresholds`: any MatchThresholds field by name (cos_min=..., ...)."""
    unknown = set(thresholds) - set(MatchThresholds._fields)
    if unknown:
        raise ValueError(f"unknown thresholds {sorted(unknown)}; known: {MatchThresholds._fields}")
    th = MatchThresholds(**thresholds)
    th.check()
    da, db = _unit_columns(dec_a), _unit_columns(dec_b)
    if da.shape[0] != db.shape[0]:
        raise ValueError(f"decoders have different widths: {da.shape[0]} vs {db.shape[0]}")
    a = activation_matrix(acts_a, n_features=da.shape[1])
    b = activation_matrix(acts_b, n_features=db.shape[1])
    mom = cross_moments(a, b)
    cos = da.T @ db
    r = mom.correlation
    live_a, live_b = mom.n_fire_a > 0, mom.n_fire_b > 0
    linked = (cos >= th.cos_min) & (r >= th.corr_min) & live_a[:, None] & live_b[None, :]
    score = (cos + r) / 2
    masked = np.where(linked, score, -np.inf)
    parent = np.where(linked.any(0), masked.argmax(0), -1)
    best_child = np.where(linked.any(1), masked.argmax(1), -1)
    mutual = np.array([c >= 0 and parent[c] == i for i, c in enumerate(best_child)])
    hung = _hungarian(score, linked)
    hung_b = np.full(len(cos), -1, np.int64)
    hung_b[hung[0]] = hung[1]

    a_csc, b_csc = a.tocsc(), b.tocsc()
    a_csc.sort_indices()
    b_csc.sort_indices()
    containment = mom.co_fire / np.maximum(mom.n_fire_b, 1)[None, :]
    rows_a, absorbs = [], [[] for _ in range(db.shape[1])]
    for i in range(da.shape[1]):
        row = _a_row(i, a_csc, b_csc, cos, r, mom, parent, containment, th)
        best = (
            int(np.where(live_b, score[i], -np.inf).argmax()) if live_a[i] and live_b.any() else -1
        )
        row.update(
            best_b=best,
            best_cosine=float(cos[i, best]) if best >= 0 else None,
            best_correlation=float(r[i, best]) if best >= 0 else None,
            hungarian_b=int(hung_b[i]),
            mutual_b=int(best_child[i]) if mutual[i] else -1,
        )
        for j in row["absorbers"]:
            absorbs[j].append(i)
        rows_a.append(row)
    cat_a = np.array([row["category"] for row in rows_a], dtype=object)
    cat_b = np.where(parent >= 0, cat_a[np.maximum(parent, 0)], "novel").astype(object)
    cat_b[~live_b] = "dead"
    rows_b = [
        {"b_id": j, "category": cat_b[j], "n_fire": int(mom.n_fire_b[j]),
         "parent": int(parent[j]),
         "cosine": float(cos[parent[j], j]) if parent[j] >= 0 else None,
         "correlation": float(r[parent[j], j]) if parent[j] >= 0 else None,
         "containment": float(containment[parent[j], j]) if parent[j] >= 0 else None,
         "absorbs": absorbs[j]}
        for j in range(db.shape[1])
    ]  # fmt: skip
    counts = {c: int((cat_a == c).sum()) for c in A_CATEGORIES}
    counts.update(
        one_to_many_children_b=int((cat_b == "one_to_many").sum()),
        dead_b=int((~live_b).sum()),
        novel_b=int((cat_b == "novel").sum()),
        unmatched_b=int((cat_b == "novel").sum()),
        matched_b=int((parent >= 0).sum()),
        split_children_b=int((cat_b == "split").sum()),
        absorbing_b=int(sum(1 for x in absorbs if x)),
        hungarian_pairs=len(hung[0]),
        mutual_pairs=int(mutual.sum()),
    )
    hungarian = {
        "a_ids": hung[0].tolist(), "b_ids": hung[1].tolist(),
        "cosine": cos[hung].tolist(), "correlation": r[hung].tolist(),
    }  # fmt: skip
    summary = _summary(cos, r, live_a, live_b, mom.n_samples)
    summary["thresholds"] = th._asdict()
    return FeatureMatching(cos, mom, parent, cat_a, cat_b, rows_a, rows_b, hungarian, counts,
                           summary)  # fmt: skip


def _column(m: sp.csc_matrix, j: int) -> np.ndarray:
    return m.indices[m.indptr[j] : m.indptr[j + 1]]


def _a_row(i, a_csc, b_csc, cos, r, mom, parent, containment, th: MatchThresholds) -> dict:
    n_a = int(mom.n_fire_a[i])
    children = np.flatnonzero(parent == i)
    share = mom.co_fire[i, children] / max(n_a, 1)
    children = children[np.argsort(-share, kind="stable")]
    share = np.sort(share)[::-1]
    row = {
        "a_id": i, "category": "dead" if n_a == 0 else "unmatched_a", "n_fire": n_a,
        "children": children.tolist(), "child_cosine": cos[i, children].tolist(),
        "child_correlation": r[i, children].tolist(), "child_share": share.tolist(),
        "child_containment": containment[i, children].tolist(),
        "coverage": 0.0, "overlap": None, "absorbers": [], "absorber_parent": [],
        "absorber_cosine": [], "absorber_samples": [], "absorbed_fraction": 0.0,
    }  # fmt: skip
    if n_a == 0 or len(children) == 0:
        return row
    samples = _column(a_csc, i)
    covered = np.isin(samples, np.concatenate([_column(b_csc, j) for j in children]))
    coverage = float(covered.mean())
    row["coverage"] = coverage
    row["overlap"] = float(share.sum() / coverage - 1) if coverage > 0 else None
    if coverage >= th.min_coverage:
        if len(children) == 1:
            row["category"] = "one_to_one"
        else:
            row["category"] = "split" if row["overlap"] <= th.max_overlap else "one_to_many"
        return row
    cand = (
        (mom.n_fire_b > 0) & (parent != i) & (cos[i] >= th.absorb_cos_min)
        & (containment[i] >= th.absorb_min_containment)
    )  # fmt: skip
    missed = samples[~covered]
    absorbed = np.zeros(len(missed), bool)
    found = []
    for j in np.flatnonzero(cand):
        hit = np.isin(missed, _column(b_csc, j))
        # exclusive: it fires where the children do not, not alongside them
        if hit.any() and hit.sum() >= th.absorb_min_exclusive * mom.co_fire[i, j]:
            absorbed |= hit
            found.append((int(hit.sum()), int(j)))
    found.sort(key=lambda t: (-t[0], t[1]))
    row.update(
        absorbers=[j for _, j in found],
        absorber_parent=[int(parent[j]) for _, j in found],
        absorber_cosine=[float(cos[i, j]) for _, j in found],
        absorber_samples=[k for k, _ in found],
        absorbed_fraction=float(absorbed.sum() / n_a),
    )
    frac = row["absorbed_fraction"]
    row["category"] = "absorbed" if frac > 0 and coverage + frac >= th.min_coverage else "partial"
    return row


def _hungarian(score: np.ndarray, linked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The linked pairs of a one-to-one assignment of maximal total score (unlinked pairs
    cost so much that any linked pair is preferred)."""
    rows, cols = np.flatnonzero(linked.any(1)), np.flatnonzero(linked.any(0))
    if len(rows) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    sub = np.where(linked[np.ix_(rows, cols)], score[np.ix_(rows, cols)], -10.0)
    ri, ci = linear_sum_assignment(sub, maximize=True)
    keep = linked[rows[ri], cols[ci]]
    return rows[ri][keep].astype(np.int64), cols[ci][keep].astype(np.int64)


def _summary(cos, r, live_a, live_b, n) -> dict:
    out = {
        "population": (
            f"the {int(live_a.sum())} A features and {int(live_b.sum())} B features that fire "
            f"at least once over the same {n} samples; dead features are counted apart"
        ),
        "definitions": {
            "correlation": "Pearson r of the activations over all samples, zeros included",
            "cosine": "cosine of the unit decoder columns",
            "mmcs": "mean over live A features of the largest decoder cosine with a live B "
            "feature (Sharkey et al. 2022)",
            "mean_max_correlation": "mean over live A features of the largest activation "
            "correlation with a live B feature",
            "se": "standard error of the mean over A features",
        },
    }
    if live_a.any() and live_b.any():
        for key, m in (("mmcs", cos), ("mean_max_correlation", r)):
            best = m[np.ix_(live_a, live_b)].max(1)
            out[key] = float(best.mean())
            out[f"{key}_se"] = (
                float(best.std(ddof=1) / np.sqrt(len(best))) if len(best) > 1 else None
            )
    return out
