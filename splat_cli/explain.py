"""`splat explain FEATURE` and `splat explanations summary`: the rules that predict where a
feature fires, their held-out scores beside the null, and the samples they get wrong."""

from __future__ import annotations

import argparse

from splat_cli.common import add_home_option, add_sae_option, command, feature_parser
from splat_cli.render import fmt, pct, table

RULE_COLUMNS = [("rank", "rank"), ("target", "target"), ("confidence", "confidence"),
                ("F1", "f1"), ("precision", "precision"), ("recall", "recall"),
                ("AUROC", "auroc"), ("null F1", "null_f1"), ("coverage", "coverage"),
                ("rule", "sentence")]  # fmt: skip
EXAMPLE_COLUMNS = [("sample", "sample_id"), ("activation", "activation"),
                   ("weapon", "weapon_name"), ("build", "build")]  # fmt: skip


def register(sub) -> None:
    p = feature_parser(sub, "explain", "rules that predict where the feature fires, scored")
    p.add_argument("--k", type=int, default=5, help="hard negatives and misses shown")
    p.add_argument("--rule", default=None, help="score this rule instead (the rule language)")
    p.add_argument(
        "--accept", action="store_true", help="save rule --rank as the label (source auto)"
    )
    p.add_argument("--rank", type=int, default=1, help="with --accept: which rule")
    p.set_defaults(run=command(_explain, render_explain))

    p = sub.add_parser("explanations", help="explanations of all features")
    esub = p.add_subparsers(dest="explanations_command", required=True, metavar="COMMAND")
    s = esub.add_parser("summary", help="features per score level, F1 spread, null, planted")
    add_home_option(s)
    add_sae_option(s)
    s.add_argument("--random", type=int, default=5, help="explained features shown, at random")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--json", action="store_true", help="print the result as JSON")
    s.set_defaults(run=command(_summary, render_summary))


def _explain(reader, a: argparse.Namespace) -> dict:
    from splat_core.explain.rules import parse
    from splat_core.investigate import explanations as ex

    if a.k < 0:
        raise ValueError(f"--k must be >= 0, got {a.k}")
    if a.accept:
        return _accept(reader, a)
    if a.rule is None:
        return ex.explain_feature(reader, a.feature, a.k)
    rule = parse(a.rule, source="--rule")
    f = reader.check_feature(a.feature)
    row = ex.score_rule(reader, f, rule)
    return {"feature_id": f, "explanations": [{**row, "rank": "-"}],
            "hard_negatives": ex.hard_negatives(reader, f, rule, a.k),
            "misses": ex.misses(reader, f, rule, row["target"], a.k)}  # fmt: skip


def _accept(reader, a: argparse.Namespace) -> dict:
    from splat_core.investigate.label_scores import accept_explanation
    from splat_core.labels import LabelStore

    store = LabelStore.open(reader.home, reader.sae)
    label = accept_explanation(reader, store, a.feature, rank=a.rank, source="auto")
    return {"feature_id": a.feature, "accepted": label.to_dict()}


def render_explain(o: dict, args=None) -> None:
    f = o["feature_id"]
    if "accepted" in o:
        lab = o["accepted"]
        print(f"feature {f}: label v{lab['version']} saved: {lab['name']}")
        return
    rows = o["explanations"]
    if not rows:
        print(f"feature {f}: not explained (too few firing samples to search)")
        return
    table(rows, RULE_COLUMNS, f"feature {f}: rules, scored on held-out samples")
    for r in rows[:1]:
        print(f"  rule: {r['rule']}")
        print(f"  {r['n_positive']:,} of {r['n_scored']:,} held-out samples are '{r['target']}'"
              f"; the rule holds on {pct(r['coverage'])}; Spearman(activation, margin) "
              f"{fmt(r['spearman'])}")  # fmt: skip
    for key, title in (("hard_negatives", "hard negatives: the rule holds, no firing"),
                       ("misses", "misses: firing, the rule fails")):  # fmt: skip
        table([_example(e) for e in o[key]], EXAMPLE_COLUMNS, title)


def _example(e: dict) -> dict:
    from splat_core.domain.present import build_text

    return {**e, "weapon_name": e["weapon"]["name"], "build": build_text(e["tokens"])}


def _summary(reader, a: argparse.Namespace) -> dict:
    from splat_core.investigate.explanations import explanations_summary

    return explanations_summary(reader, n_random=a.random, seed=a.seed)


def render_summary(o: dict, args=None) -> None:
    print(f"{o['n_explained']:,} of {o['n_features']:,} features have rules")
    table([{"level": k, "features": v} for k, v in o["confidence"].items()],
          [("best rule's confidence", "level"), ("features", "features")])  # fmt: skip
    table(o["best_f1_histogram"], [("F1 from", "from"), ("to", "to"), ("features", "features")],
          "best held-out F1")  # fmt: skip
    null = o["null_search"]
    if null and null.get("n_features"):
        print(f"null: the search on random samples ({null['n_features']} features) reaches "
              f"F1 median {fmt(null['f1_median'])}, p95 {fmt(null['f1_p95'])}, "
              f"max {fmt(null['f1_max'])}")  # fmt: skip
    table(o["random"], [("feature", "feature_id"), *RULE_COLUMNS[1:]],
          "features picked at random")  # fmt: skip
    if o["planted"]:
        cols = [("archetype", "archetype"), ("feature", "feature"), ("F1", "f1"),
                ("precision", "precision"), ("recall", "recall"), ("AUROC", "auroc"),
                ("null F1", "null_f1"), ("matched", "matched"),
                ("label's own F1", "ceiling_f1"), ("rule", "sentence")]  # fmt: skip
        matched = sum(r["matched"] == "yes" for r in o["planted"])
        table(o["planted"], cols, f"planted archetypes: {matched}/{len(o['planted'])} matched")
