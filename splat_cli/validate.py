"""`splat validate sweep|tokens|rule|interference FEATURE ...`: is an effect real?

Split-half stability (the effect on two seeded disjoint halves of the samples), a shuffle
null (activations permuted over the samples) with a p-value, and the within-family
interference test on the model. Every table says which population it averaged over.
"""

from __future__ import annotations

from splat_cli.common import (
    add_example_options,
    command,
    feature_parser,
    investigation,
    positive_int,
)
from splat_cli.render import fmt, table


def register(sub) -> None:
    p = sub.add_parser("validate", help="split-half stability, shuffle nulls, interference")
    s = p.add_subparsers(dest="validate_command", required=True, metavar="CHECK")

    q = _check(s, "sweep", "a family sweep's deltas on two halves, and a shuffle null")
    q.add_argument("family", help="family or main-only ability (or SSU...)")
    q.add_argument("--min-n", type=positive_int, default=20, help="samples a rung needs")
    q.set_defaults(
        run=command(
            lambda r, a: investigation().validate_sweep(
                r, a.feature, a.family, a.perm, a.seed, a.min_n
            ),
            render_sweep,
        )
    )

    q = _check(s, "tokens", "token effects on two halves, and a p-value per top item")
    q.add_argument("--tokens", action="store_true", help="tokens, not abilities (collapsed)")
    q.add_argument("--min-n", type=positive_int, default=20)
    q.add_argument("--top-k", type=positive_int, default=10)
    q.set_defaults(
        run=command(
            lambda r, a: investigation().validate_token_effects(
                r, a.feature, not a.tokens, a.perm, a.seed, a.top_k, a.min_n
            ),
            render_tokens,
        )
    )

    q = _check(s, "rule", "an explanation rule's scores on two halves, and a shuffle null")
    q.add_argument("rule", help="e.g. 'swim_speed_up >= 21 & class = shooter'")
    q.set_defaults(
        run=command(
            lambda r, a: investigation().validate_rule(r, a.feature, a.rule, a.perm, a.seed),
            render_rule,
        )
    )

    q = _check(s, "interference", "do lower rungs carry the effect without the top?")
    q.add_argument("family", help="a stackable family (or SSU...)")
    add_example_options(q, 50, "edit", seed=False)  # --seed: _check's
    q.set_defaults(
        run=command(
            lambda r, a: investigation().interference(
                r, a.feature, a.family, a.examples, a.source, a.seed, a.perm
            ),
            render_interference,
        )
    )


def _check(s, name: str, help_: str):
    q = feature_parser(s, name, help_)
    q.add_argument("--perm", type=positive_int, default=200, help="shuffles for the null")
    q.add_argument("--seed", type=int, default=0, help="seed of the halves and shuffles")
    return q


def _null(name: str, s: dict) -> None:
    if s["observed"] is None:
        print(f"  {name}: not measurable (no group large enough)")
        return
    print(
        f"  {name}: {fmt(s['observed'])}; null mean {fmt(s['null_mean'])}, p95 "
        f"{fmt(s['null_p95'])}; p = {fmt(s['p_value'])}"
    )


def _head(r: dict, what: str) -> None:
    print(f"feature {r['feature_id']}: {what}\n  population: {r['population']}")
    print(f"  seed {r['seed']}, {r.get('n_perm', 0):,} shuffles")


def render_sweep(r: dict, args=None) -> None:
    _head(r, f"validating the sweep of {r['family']}")
    table(
        r["rows"],
        [("rung", "label"), ("n", "n"), ("delta", "delta"), ("stderr", "delta_stderr"),
         ("n A", "n_a"), ("delta A", "delta_a"), ("n B", "n_b"), ("delta B", "delta_b"),
         ("both ok", "reliable_both")],
    )  # fmt: skip
    ag = r["agreement"]
    print(
        f"\nhalves agree over {ag['n_rungs']} rungs: r = {fmt(ag['pearson_r'])}, "
        f"same sign {fmt(ag['sign_agreement'])}"
    )
    peak = r["peak"]
    _null(f"peak |delta| ({peak['label'] or '-'})", peak)
    _null("eta squared", r["eta_squared"])


def render_tokens(r: dict, args=None) -> None:
    _head(r, f"validating token effects ({r['items']})")
    ag = r["agreement"]
    print(
        f"  halves: r = {fmt(ag['pearson_r'])} over {ag['n_items']} items, same sign "
        f"{fmt(ag['sign_agreement'])}; top-{r['top_k']} overlap {fmt(ag['top_overlap'])} "
        f"({', '.join(ag['top_shared']) or 'none'})"
    )
    table(
        r["rows"],
        [("item", "item"), ("kind", "kind"), ("n with", "n_with"), ("delta", "delta"),
         ("stderr", "delta_stderr"), ("delta A", "delta_a"), ("delta B", "delta_b"),
         ("p", "p_value"), ("p bonf.", "p_bonferroni")],
    )  # fmt: skip
    print(f"\nnote: {r['note']}")


def render_rule(r: dict, args=None) -> None:
    _head(r, f"validating the rule {r['rule']} (target {r['target']})")
    rows = [{"part": k, **r[k]} for k in ("all", "half_a", "half_b")] + [
        {"part": f"explainer {k}", **v} for k, v in r["explainer_split"].items()
    ]
    table(
        rows,
        [("samples", "part"), ("n", "n"), ("positives", "n_positive"), ("holds", "n_holds"),
         ("precision", "precision"), ("recall", "recall"), ("F1", "f1")],
    )  # fmt: skip
    print(f"\n  |F1 A - F1 B| = {fmt(r['f1_difference'])}")
    _null("F1 over all samples", r["f1_null"])


def render_interference(r: dict, args=None) -> None:
    print(f"feature {r['feature_id']}: interference within {r['family']}")
    if not r["applies"]:
        print(f"  does not apply: {r['reason']}")
        return
    print(f"  population: {r['population']}")
    rows = []
    for part in ("all_holding", "with_lower_rungs"):
        e = r[part]
        for key in ("remove_top", "remove_family", "lower_rungs"):
            rows.append({"examples": part, "change": key, **e[key]})
    table(rows, [("examples", "examples"), ("change", "change"), ("mean", "mean"),
                 ("stderr", "stderr"), ("n", "n"), ("p", "p_value")])  # fmt: skip
    print(f"\n  {r['summary']}")
