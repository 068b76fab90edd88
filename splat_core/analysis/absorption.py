"""Feature absorption on the rung hierarchy, after Chanin et al. 2024 ("A is for Absorption")
and SAEBench's absorption metric (Karvonen et al. 2025).

Their task: the parent concept "starts with S"; a latent that looks like its detector fails to
fire on some S-words (false negatives) and a more specific latent, "short", fires instead with
part of the parent's direction in its decoder: the child latent *absorbed* the parent there.

Here the hierarchy is the cumulative rung tokens: a family at a AP gives `<family>_<t>` for
every rung t <= a, so `swim_speed_up_57` implies `_51`, ..., `_3`. For each family:

- parent concept: the family is present. `parent="any"`: any of its rung tokens is in the
  input (the analysed samples are random subsets of builds, so a sample may hold `_12`
  without `_3`); `parent="lowest"`: the lowest rung token is (the two agree on full builds).
- main features: the feature with the best F1 at predicting the parent, then, as SAEBench's
  k-sparse probing does for split features, greedily the feature whose union with the set
  raises the F1 most while it rises by at least `min_f1_gain` (SAEBench's f1_jump_threshold,
  0.03), up to `k_main` (its max_k_value, 10). Child-rung features (below) are never main
  features: a feature that stands for a higher rung is the child, whatever F1 its union
  would add. "fires" = nonzero activation.
- a feature's best token: the token (column of token_presence) it predicts with the best F1;
  a *child-rung feature* of a family is one whose best token is a higher rung of it (above
  its lowest rung).
- false negatives: samples where the parent is present and no main feature fires.
- absorption: a false negative where a child-rung feature of the family fires whose decoder
  has cosine > `absorb_cos_min` (default 0: positive) with a main feature's (the largest);
  absorption_rate = absorbed false negatives / samples where the parent is present.

Adaptation, honestly: SAEBench trains a linear probe for each letter, takes the probe
direction as the parent's, and also asks that the absorbing latent's contribution along it
explain most of the probe's projection; there is no probe here (the concept is an input
token, known exactly), so the main features' decoder directions stand in for it and the
projection test becomes the cosine sign. The child concepts are given by the hierarchy (the
higher rungs) instead of by the tokens themselves. The rate is therefore "the fraction of
the family's samples that its main features miss while a feature of a higher rung, pointing
the same way, fires instead"; `n_absorbed_any_cosine` gives it without the cosine test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from splat_core.builds.sample_meta import SampleMeta
from splat_core.domain.vocab import RUNGS, STANDARD, Vocab, rung_token

PARENTS = ("any", "lowest")


def token_presence(meta: SampleMeta) -> sp.csr_matrix:
    """bool [N, vocab]: which tokens each sample's input holds. SampleMeta's ragged tokens are
    already CSR (offsets, ids): no copy beyond the ones."""
    m = sp.csr_matrix(
        (np.ones(len(meta.token_ids), bool), meta.token_ids, meta.token_offsets),
        shape=(meta.n_samples, len(meta.vocab)),
    )
    m.sum_duplicates()
    return m


def rung_families(vocab: Vocab, families: Sequence[str] = STANDARD) -> dict[str, list[int]]:
    """family -> its rung token ids in ascending rung order (rungs missing from the
    vocabulary are left out; a family with none is left out)."""
    out = {}
    for fam in families:
        ids = [vocab.token_to_id[t] for t in (rung_token(fam, r) for r in RUNGS)
               if t in vocab.token_to_id]  # fmt: skip
        if ids:
            out[fam] = ids
    return out


def _csr(acts, n_features: int) -> sp.csr_matrix:
    """scipy CSR [N, F] without stored zeros from a scipy matrix or (indptr, indices, data)."""
    if sp.issparse(acts):
        m = sp.csr_matrix(acts)
    else:
        indptr, indices, data = acts
        m = sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, n_features))
    if m.shape[1] != n_features:
        raise ValueError(f"activations have {m.shape[1]} features, the decoder {n_features}")
    if not m.has_canonical_format or (m.data == 0).any():
        m = m.copy()
        m.sum_duplicates()
        m.eliminate_zeros()
    return m


def _f1(tp, n_pred, n_true):
    """F1, precision, recall of a predictor firing on n_pred samples, n_true positives."""
    tp, n_pred, n_true = (np.asarray(x, np.float64) for x in (tp, n_pred, n_true))
    f1 = np.divide(2 * tp, n_pred + n_true, out=np.zeros(np.broadcast(tp, n_pred).shape),
                   where=(n_pred + n_true) > 0)  # fmt: skip
    prec = np.divide(tp, n_pred, out=np.zeros_like(f1), where=n_pred > 0)
    rec = np.divide(tp, n_true, out=np.zeros_like(f1), where=n_true > 0)
    return f1, prec, rec


def best_tokens(acts, token_presence) -> tuple[np.ndarray, np.ndarray]:
    """(token id, F1) of each feature's best-F1 token at predicting the token's presence
    (acts [N, F] sparse without stored zeros, token_presence [N, T] sparse); (-1, 0) for a
    feature that never co-fires with any token. Ties go to the smaller token id."""
    acts = sp.csr_matrix(acts)
    dt = np.float32 if acts.shape[0] < 2**24 else np.float64  # integer counts stay exact
    fire = sp.csr_matrix((np.ones(acts.nnz, dt), acts.indices, acts.indptr), acts.shape)
    pres = sp.csr_matrix(token_presence, dtype=dt)
    tp = np.rint((fire.T @ pres).toarray())  # [F, T] co-occurrence counts
    n_f = np.bincount(acts.indices, minlength=acts.shape[1])
    n_t = np.asarray(pres.sum(axis=0)).ravel()
    f1, _, _ = _f1(tp, n_f[:, None], n_t[None, :])
    tok = np.where(tp.max(1) > 0, f1.argmax(1), -1)
    return tok.astype(np.int64), np.where(tok >= 0, f1.max(1), 0.0)


def absorption(
    acts,
    dec,
    token_presence,
    families: Mapping[str, Sequence[int]],
    *,
    token_names: Sequence[str] | None = None,
    parent: str = "any",
    k_main: int = 10,
    min_f1_gain: float = 0.03,
    absorb_cos_min: float = 0.0,
    min_support: int = 100,
    max_candidates: int = 20,
) -> dict:
    """Absorption per rung family (module docstring). acts: [N, F] activations (scipy sparse
    or (indptr, indices, data)); dec: [d, F] decoder directions (array or tensor);
    token_presence: [N, T] sparse, nonzero where a sample's input holds a token
    (`token_presence(meta)`); families: family -> rung token ids, lowest rung first
    (`rung_families(vocab)`); token_names: names of the T tokens for the rows. Returns
    {population, definitions, parameters, families: [one dict per family], n_supported,
    mean_absorption_rate, mean_absorption_rate_se}."""
    if parent not in PARENTS:
        raise ValueError(f"parent must be one of {PARENTS}, got {parent!r}")
    if k_main < 1 or max_candidates < 1 or min_support < 1:
        raise ValueError("k_main, max_candidates and min_support must be at least 1")
    dec = dec.detach().cpu().numpy() if hasattr(dec, "detach") else np.asarray(dec)
    dec = np.asarray(dec, np.float64)
    if dec.ndim != 2:
        raise ValueError(f"decoder directions must be [d, F], got shape {dec.shape}")
    dec = dec / np.where((n := np.linalg.norm(dec, axis=0)) > 0, n, 1.0)
    a = _csr(acts, dec.shape[1])
    pres = sp.csr_matrix(token_presence).astype(bool)
    if pres.shape[0] != a.shape[0]:
        raise ValueError(f"token_presence has {pres.shape[0]} samples, activations {a.shape[0]}")
    for fam, ids in families.items():
        if len(ids) == 0 or min(ids) < 0 or max(ids) >= pres.shape[1]:
            raise ValueError(f"family {fam!r} has no rung ids or ids outside [0, {pres.shape[1]})")
    names = list(token_names) if token_names is not None else None
    a_csc = a.tocsc()
    a_csc.sort_indices()
    best_tok, best_f1 = best_tokens(a, pres)
    pres_csc = pres.tocsc()
    rows = [
        _family(fam, list(ids), a, a_csc, pres_csc, dec, best_tok, best_f1, names, parent,
                k_main, min_f1_gain, absorb_cos_min, max_candidates, min_support)
        for fam, ids in families.items()
    ]  # fmt: skip
    rates = np.array([r["absorption_rate"] for r in rows if r["supported"]])
    return {
        "population": (
            f"all {a.shape[0]} samples; per family, the samples whose input holds the family "
            f"(parent={parent!r}); the mean is over the {len(rates)} families present in at "
            f"least {min_support} samples"
        ),
        "definitions": DEFINITIONS,
        "parameters": {
            "parent": parent,
            "k_main": k_main,
            "min_f1_gain": min_f1_gain,
            "absorb_cos_min": absorb_cos_min,
            "min_support": min_support,
            "max_candidates": max_candidates,
        },  # fmt: skip
        "families": rows,
        "n_supported": len(rates),
        "mean_absorption_rate": float(rates.mean()) if len(rates) else None,
        "mean_absorption_rate_se": (
            float(rates.std(ddof=1) / np.sqrt(len(rates))) if len(rates) > 1 else None
        ),
    }


DEFINITIONS = {
    "parent_present": "any rung token of the family in the input (parent='any'), or its "
    "lowest rung token (parent='lowest')",
    "main_features": "best-F1 feature for the parent, then greedily the feature raising the "
    "union's F1 most, while it rises by >= min_f1_gain, up to k_main; never a child-rung "
    "feature",
    "f1/precision/recall": "of 'some main feature fires' as a predictor of the parent",
    "child_rung_feature": "a feature whose best-F1 token is a rung of the family above its lowest",
    "false_negative": "parent present, no main feature fires",
    "absorbed": "a false negative where a child-rung feature with decoder cosine > "
    "absorb_cos_min to a main feature fires",
    "absorption_rate": "absorbed / parent present; se = sqrt(p(1-p)/n_present)",
    "mean_absorption_rate": "mean over supported families; se = sd / sqrt(families)",
}


def _family(fam, ids, a, a_csc, pres_csc, dec, best_tok, best_f1, names, parent, k_main,
            min_gain, absorb_cos, max_cand, min_support) -> dict:  # fmt: skip
    n = a.shape[0]
    cols = ids if parent == "any" else ids[:1]
    y = np.zeros(n, bool)
    for t in cols:
        y[pres_csc.indices[pres_csc.indptr[t] : pres_csc.indptr[t + 1]]] = True
    n_present = int(y.sum())
    child = np.isin(best_tok, ids[1:])  # best token: a higher rung of this family
    n_f = np.diff(a_csc.indptr)
    hits = np.concatenate([[0], np.cumsum(y[a_csc.indices], dtype=np.int64)])
    tp = hits[a_csc.indptr[1:]] - hits[a_csc.indptr[:-1]]  # per feature: firing with y
    f1, _, _ = _f1(tp, n_f, n_present)
    f1[child | (tp == 0)] = -1.0
    main, union = [], np.zeros(n, bool)
    if n_present and f1.max() > 0:
        order = np.argsort(-f1, kind="stable")[:max_cand]
        order = order[f1[order] > 0]
        current = 0.0
        while len(main) < k_main:
            gains, u_fired, u_hit = [], int(union.sum()), int((union & y).sum())
            for f in order:
                if f in main:
                    continue
                new = _col(a_csc, f)
                new = new[~union[new]]  # samples the feature adds to the union
                fired, hit = u_fired + len(new), u_hit + int(y[new].sum())
                gains.append((_f1(hit, fired, n_present)[0].item(), -int(f)))
            if not gains:
                break
            score, f = max(gains)
            if main and score - current < min_gain:
                break
            main.append(-f)
            union[_col(a_csc, -f)] = True
            current = score
    tp_u, n_u = int((union & y).sum()), int(union.sum())
    f1_u, prec, rec = (float(x) for x in _f1(tp_u, n_u, n_present))
    fn = y & ~union
    cos = (dec[:, main].T @ dec).max(0) if main else np.zeros(dec.shape[1])
    absorbed, absorbed_any, absorbers = np.zeros(n, bool), np.zeros(n, bool), []
    for f in np.flatnonzero(child):
        s = _col(a_csc, f)
        s = s[fn[s]]
        if len(s) == 0:
            continue
        absorbed_any[s] = True
        if cos[f] > absorb_cos:
            absorbed[s] = True
            t = int(best_tok[f])
            absorbers.append({"feature": int(f), "token_id": t,
                              "token": names[t] if names else None,
                              "token_f1": float(best_f1[f]), "cosine": float(cos[f]),
                              "n_samples": len(s)})  # fmt: skip
    absorbers.sort(key=lambda r: (-r["n_samples"], r["feature"]))
    n_abs = int(absorbed.sum())
    p = n_abs / n_present if n_present else 0.0
    return {
        "family": fam,
        "n_present": n_present,
        "supported": n_present >= min_support,
        "main_features": [int(f) for f in main],
        "main_f1": [float(_f1(tp[f], n_f[f], n_present)[0]) for f in main],
        "f1": f1_u, "precision": prec, "recall": rec,
        "n_false_negative": int(fn.sum()),
        "n_absorbed": n_abs,
        "n_absorbed_any_cosine": int(absorbed_any.sum()),
        "absorption_rate": p,
        "absorption_rate_se": float(np.sqrt(p * (1 - p) / n_present)) if n_present else None,
        "absorbed_share_of_fn": n_abs / int(fn.sum()) if fn.any() else None,
        "n_child_rung_features": int(child.sum()),
        "absorbers": absorbers,
    }  # fmt: skip


def _col(m: sp.csc_matrix, j: int) -> np.ndarray:
    return m.indices[m.indptr[j] : m.indptr[j + 1]]
