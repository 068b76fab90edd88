"""A feature's explanations as a researcher reads them: its rules with their held-out
scores, and the samples the best rule gets wrong; any rule (a label's) scored the same way.

- hard negatives: samples where the rule holds but the feature does not fire (deepest inside
  the rule first: largest margin, then sample id);
- misses: samples of the rule's target where the rule fails (highest activation first).
"""

from __future__ import annotations

import json
import math

import numpy as np

from splat_core.checkpoints import METRICS_JSON
from splat_core.explain.planted import ceiling, planted_report
from splat_core.explain.rules import Rule, parse
from splat_core.explain.search import TARGETS
from splat_core.explain.table import NULL_KEY, best_rows, summarize
from splat_core.query.reader import Reader
from splat_core.store.artifacts import open_artifact, verified


def score_rule(reader: Reader, f: int, rule: Rule | str) -> dict:
    """The rule's held-out scores for feature f, against the target it detects better
    (`fires` on a tie), as a row like feature_explanations'."""
    rule = parse(rule) if isinstance(rule, str) else rule
    ex = reader.explainer
    ids, values = reader.activations(f)
    targets = ex.targets(ids, values)
    scored = [(t, ex.score(rule, targets[t], ids, values, f)) for t in TARGETS]
    target, s = max(scored, key=lambda x: (x[1].f1, -TARGETS.index(x[0])))
    # no held-out positive: AUROC is undefined, null as in the table (JSON has no NaN)
    s = s._replace(**{k: None for k in ("auroc", "null_auroc") if math.isnan(getattr(s, k))})
    return {"feature_id": int(f), "rule": str(rule), "sentence": rule.sentence(),
            "target": target, **s._asdict(), "confidence": s.confidence}  # fmt: skip


def hard_negatives(reader: Reader, f: int, rule: Rule, k: int = 5) -> list[dict]:
    inputs = reader.explainer.inputs
    ids, _ = reader.activations(f)
    holds = np.flatnonzero(inputs.evaluate(rule))
    quiet = holds[~np.isin(holds, ids)]
    margin = inputs.margin(rule, quiet)
    picked = quiet[np.lexsort((quiet, -margin))[:k]]
    zeros = np.zeros(len(picked), np.float32)
    return [e.to_dict() for e in reader.samples.examples(picked, zeros, zeros.astype(int))]


def misses(reader: Reader, f: int, rule: Rule, target: str = "fires", k: int = 5) -> list[dict]:
    ex = reader.explainer
    ids, values = reader.activations(f)
    wanted = np.isin(ids, ex.targets(ids, values)[target])
    missed = np.flatnonzero(wanted & ~ex.inputs.evaluate(rule, ids))[:k]
    return [e.to_dict() for e in reader.samples.examples(ids[missed], values[missed], missed + 1)]


def explain_feature(reader: Reader, f: int, k: int = 5) -> dict:
    """The feature's rules (best first) and, for the best, its hard negatives and misses
    (k each). Examples carry `rank` 0 where the feature does not fire."""
    f = reader.check_feature(f)
    rows = reader.explanations(f)
    out = {"feature_id": f, "explanations": rows, "hard_negatives": [], "misses": []}
    if rows:
        rule = parse(rows[0]["rule"])
        out["hard_negatives"] = hard_negatives(reader, f, rule, k)
        out["misses"] = misses(reader, f, rule, rows[0]["target"], k)
    return out


def explanations_summary(reader: Reader, n_random: int = 5, seed: int = 0) -> dict:
    """How well the features are explained: features per confidence class of their best
    rule, the distribution of best held-out F1 (tenths), the search's null (the whole
    search on random samples), `n_random` explained features picked at random (seeded),
    and, where the SAE was trained on synthetic builds, the planted-archetype table."""
    table = reader.table("feature_explanations").table
    out = summarize(table, reader.n_features)
    meta = table.schema.metadata or {}
    out["null_search"] = json.loads(meta[NULL_KEY]) if NULL_KEY in meta else None
    best = best_rows(table).to_pylist()
    f1 = np.array([r["f1"] for r in best])
    counts = np.histogram(f1, bins=np.linspace(0, 1, 11))[0] if len(best) else np.zeros(10)
    out["best_f1_histogram"] = [
        {"from": round(i / 10, 1), "to": round((i + 1) / 10, 1), "features": int(c)}
        for i, c in enumerate(counts)
    ]
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(best), size=min(n_random, len(best)), replace=False)
    out["random"] = [best[i] for i in sorted(picked.tolist(), key=lambda i: best[i]["feature_id"])]
    auroc = _sae_metrics(reader).get("archetype_auroc")
    by_feature = {r["feature_id"]: r for r in best}
    out["planted"] = planted_report(auroc, by_feature, _ceilings(reader)) if auroc else None
    return out


def _ceilings(reader: Reader) -> dict | None:
    """The planted archetypes' own best rules (explain.planted.ceiling), if the builds are
    synthetic."""
    builds = open_artifact(reader.path("builds"))
    if builds.archetype is None:
        return None
    sample_archetype = builds.archetype[reader.samples.build_id]
    return ceiling(reader.explainer, sample_archetype, builds.archetype_names)


def _sae_metrics(reader: Reader) -> dict:
    directory = reader.path("sae")
    verified(directory)  # a damaged metrics file raises DamagedError
    return json.loads((directory / METRICS_JSON).read_text())
