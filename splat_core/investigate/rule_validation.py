"""Is an explanation rule's fit real? Its scores on two halves, and a shuffle null for F1.

The rule is scored as `explanations.score_rule` scores it (the target it detects better,
`fires` or `strong`, as the Explainer defines them), but over every sample: precision,
recall and F1 on two seeded halves (validation.halves) and on the Explainer's own fit and
held-out halves, and the F1 over all samples against a shuffle null (validation.permutations:
the activations permuted over the samples, so the target moves and the rule stays).
"""

from __future__ import annotations

import numpy as np

from splat_core.explain.rules import Rule, parse
from splat_core.explain.search import f1_of
from splat_core.investigate.explanations import score_rule
from splat_core.investigate.validation import (
    NULL,
    P_VALUE,
    SPLIT,
    check,
    halves,
    null_summary,
    permutations,
)


def _scores(holds: np.ndarray, label: np.ndarray) -> dict:
    """Precision, recall, F1 of `holds` as a detector of `label` (bool, same rows)."""
    n_pos, n_holds = int(label.sum()), int(holds.sum())
    tp = int((holds & label).sum())
    return {
        "n": len(label),
        "n_positive": n_pos,
        "n_holds": n_holds,
        "precision": tp / n_holds if n_holds else 0.0,
        "recall": tp / n_pos if n_pos else 0.0,
        "f1": float(f1_of(tp, n_holds, n_pos)),
    }


def validate_rule(reader, f: int, rule: Rule | str, n_perm: int = 200, seed: int = 0) -> dict:
    """The rule's precision/recall/F1 on two seeded halves and on the Explainer's fit and
    held-out halves, and its F1 over all samples against a shuffle null."""
    check(n_perm, seed)
    rule = parse(rule) if isinstance(rule, str) else rule
    held_out = score_rule(reader, f, rule)  # checks f; the target and the table-style scores
    ex = reader.explainer
    ids, values = reader.activations(f)
    n = ex.n_samples
    label = np.zeros(n, bool)
    label[ex.targets(ids, values)[held_out["target"]]] = True
    holds = ex.inputs.evaluate(rule)
    split = halves(n, seed)
    a, b = (_scores(holds[h], label[h]) for h in split)
    full = _scores(holds, label)
    n_holds = int(holds.sum())
    null = np.array(
        [
            f1_of(int((label[p] & holds).sum()), n_holds, full["n_positive"])
            for p in permutations(n, n_perm, seed)
        ],
        dtype=float,
    )
    return {
        "feature_id": int(f),
        "rule": str(rule),
        "sentence": rule.sentence(),
        "target": held_out["target"],
        "population": f"all {n:,} samples (target '{held_out['target']}': "
        f"{full['n_positive']:,} of them); halves of {len(split[0]):,} (A) and "
        f"{len(split[1]):,} (B)",
        "seed": int(seed),
        "n_perm": int(n_perm),
        "all": full,
        "half_a": a,
        "half_b": b,
        "f1_difference": abs(a["f1"] - b["f1"]),
        "explainer_split": {
            "fit": _scores(holds[ex.split.fit], label[ex.split.fit]),
            "held_out": _scores(holds[ex.split.score], label[ex.split.score]),
        },
        "held_out_scores": held_out,
        "f1_null": null_summary(full["f1"], null),
        "definitions": {
            "target": "fires: activation > 0; strong: at or above the Explainer's "
            "strong_quantile of the nonzero activations; the one the rule detects better on "
            "the held-out half (score_rule)",
            "f1": "2 tp / (positives + samples where the rule holds)",
            "split": SPLIT,
            "f1_difference": "|F1 on half A - F1 on half B|",
            "explainer_split": "the Explainer's own halves: the feature's rules were searched "
            "on `fit`, so only `held_out` is an unbiased score of them",
            "held_out_scores": "score_rule's row (AUROC, Spearman, the random-positives null)",
            "null": NULL + "; the rule is fixed, the target moves",
            "p_value": P_VALUE,
        },
    }
