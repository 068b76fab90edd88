"""`splat compare F G` (two features: overlap, conditional rates, correlations), `splat logits
F` (the histogram of its direct effect on every output logit) and `splat map` (the 2-D
feature map joined with labels, top families and explanation scores)."""

from __future__ import annotations

from splat_cli.common import add_home_option, add_sae_option, command, feature_parser
from splat_cli.render import fmt, table

BAR = 40  # characters of the longest histogram bar


def register(sub) -> None:
    p = feature_parser(sub, "compare", "two features: overlap, conditional firing, correlation")
    p.add_argument("other", type=int, help="the second feature id")
    p.add_argument("--max-points", type=int, default=2000, help="scatter points kept (--json)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=command(_compare, _render_compare))

    p = feature_parser(sub, "logits", "histogram of the feature's effect on every output logit")
    p.add_argument("--bins", type=int, default=20)
    p.add_argument("-k", type=int, default=10, help="top tokens of each sign")
    p.set_defaults(run=command(_logits, _render_logits))

    help_ = "the feature map: every feature's decoder direction in 2-D, with what colours it"
    p = sub.add_parser("map", help=help_, description=help_)
    add_home_option(p)
    add_sae_option(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--color", default="family", choices=("label", "family", "explanation"))
    p.add_argument("--limit", type=int, default=20, help="points listed (all with --json)")
    p.set_defaults(run=command(_map, _render_map))

    help_ = "two SAEs of the home's pooled vectors, feature by feature, and their absorption"
    p = sub.add_parser("match-saes", help=help_, description=help_)
    add_home_option(p)
    p.add_argument("sae_a", help="the smaller SAE's directory (e.g. bench sae-variants --save-dir)")
    p.add_argument("sae_b", help="the larger SAE's directory")
    p.add_argument("--examples", type=int, default=3, help="features listed per category")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=command(_match, _render_match))


def _compare(reader, a) -> dict:
    from splat_core.investigate.compare import compare_features

    out = compare_features(reader, a.feature, a.other, a.max_points, a.seed)
    if not a.json:  # the text view does not print the points
        out["scatter"] = {k: v for k, v in out["scatter"].items() if k != "points"}
    return out


def _render_compare(out: dict, a) -> None:
    f, g = out["feature_id"], out["other_id"]
    c = out["counts"]
    print(f"features {f} and {g} over {out['population']}")
    print(f"  both {c['both']:,} · only {f} {c['only_f']:,} · only {g} {c['only_g']:,} · "
          f"neither {c['neither']:,}")  # fmt: skip
    rows = [
        {"stat": f"P({g} fires | {f} fires)", **out["p_g_given_f"]},
        {"stat": f"P({f} fires | {g} fires)", **out["p_f_given_g"]},
    ]
    table(rows, [("", "stat"), ("p", "p"), ("stderr", "stderr"), ("k", "k"), ("n", "n")])
    print(f"\n  Jaccard {fmt(out['jaccard'])} · Pearson (all) {fmt(out['pearson_all']['r'])} · "
          f"Pearson (both fire) {fmt(out['pearson_cofiring']['r'])} · decoder cosine "
          f"{fmt(out['decoder_cosine'])}")  # fmt: skip
    tops = out["top_tokens"]
    if tops["shared"] is not None:
        print(f"  shared top tokens: {', '.join(tops['shared']) or 'none'}")
    print(f"  scatter: {out['scatter']['note']} (--json for the points)")


def _logits(reader, a) -> dict:
    from splat_core.investigate.compare import logit_histogram

    return logit_histogram(reader, a.feature, a.bins, a.k)


def _render_logits(out: dict, a) -> None:
    print(f"feature {out['feature_id']}: W_out . d_f over {out['population']}")
    print(f"  mean {out['mean']:+.4f} · std {fmt(out['std'])} · "
          f"min {out['min']:+.4f} · max {out['max']:+.4f}")  # fmt: skip
    top = max(out["counts"]) or 1
    edges = out["edges"]
    for i, n in enumerate(out["counts"]):
        bar = "#" * round(BAR * n / top)
        print(f"  [{edges[i]:+8.4f}, {edges[i + 1]:+8.4f}) {n:4d} {bar}")
    cols = [("token", "token"), ("logit change", "value")]
    table(out["top_positive"], cols, "raises most")
    table(out["top_negative"], cols, "lowers most")


def _map(reader, a) -> dict:
    from splat_core.investigate.compare import map_points
    from splat_core.labels import LabelStore

    labels = {x.feature_id: x.name for x in LabelStore.open(reader.home, reader.sae).all()}
    return map_points(reader, a.color, labels)


def _render_map(out: dict, a) -> None:
    pts = out["points"]
    key = {"label": "label", "family": "family", "explanation": "explanation_f1"}[out["color"]]
    print(f"feature map ({out['method'] or 'method unknown'}): {out['n_features']:,} features, "
          f"coloured by {out['color']}")  # fmt: skip
    groups: dict = {}
    for p in pts:
        value = _f1_band(p[key]) if key == "explanation_f1" else p[key]
        groups[value] = groups.get(value, 0) + 1
    rows = [{"value": str(k), "features": v} for k, v in sorted(groups.items(), key=_by_count)]
    table(rows[:15], [(out["color"], "value"), ("features", "features")], "largest groups")
    cols = [("feature", "feature_id"), ("x", "x"), ("y", "y"), ("label", "label"),
            ("family", "family"), ("F1", "explanation_f1"), ("firing", "firing_rate")]  # fmt: skip
    table(pts[: a.limit], cols, f"first {min(a.limit, len(pts))} points (--json for all)")


def _f1_band(f1) -> str:
    return "unexplained" if f1 is None else f"F1 {min(int(f1 * 5), 4) / 5:.1f}+"


def _by_count(item) -> tuple:
    return (-item[1], str(item[0]))


def _match(reader, a) -> dict:
    from splat_core.pipeline.sae_variants import compare_saes
    from splat_core.sae import load_sae
    from splat_core.store.artifacts import open_artifact

    # the served generation's pooled vectors and samples, as every other answer's
    pooled, samples = ({k: open_artifact(p) for k, p in reader.partitions(name).items()}
                       for name in ("pooled", "samples"))  # fmt: skip
    return compare_saes(pooled, samples, load_sae(a.sae_a), load_sae(a.sae_b), a.examples)


def _render_match(out: dict, a) -> None:
    fa, fb = out["n_features"]
    print(f"SAE A ({fa:,} features) against SAE B ({fb:,}) over {out['summary']['population']}")
    table([{"category": k, "count": v} for k, v in out["counts"].items()],
          [("", "category"), ("count", "count")])  # fmt: skip
    for category, rows in out["examples"].items():
        ids = ", ".join(f"{r['a_id']} -> {r['children']}" for r in rows)
        print(f"  {category}: {ids}")
    for name, ab in zip("AB", out["absorption"], strict=True):
        rate, se = fmt(ab["mean_absorption_rate"]), fmt(ab["mean_absorption_rate_se"])
        print(f"absorption {name}: mean rate {rate} ± {se} over {ab['n_supported']} families")
