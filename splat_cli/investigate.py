"""`splat overview|tokens|decoder FEATURE`: first look, token effects and output side.

Every investigation command computes in `splat_core.investigate`, prints readable tables, and
with `--json` the function's own dict (documented in docs/investigating.md). An unknown
feature, family, token or weapon exits 2 with the reason on stderr.
"""

from __future__ import annotations

from splat_cli.common import add_quantile, command, feature_parser, investigation
from splat_cli.render import fmt, pct, table
from splat_cli.sweep import render_binary, render_coverage


def register(sub) -> None:
    p = feature_parser(sub, "overview", "first look at a feature: stats, tokens, weapons, label")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--contexts", type=int, default=5, help="top examples shown")
    p.add_argument("--enrichment", action="store_true", help="token effects (splat tokens)")
    p.add_argument("--regions", action="store_true", help="activation regions and coverage")
    p.add_argument("--binary", action="store_true", help="main-only abilities")
    p.add_argument("--kits", action="store_true", help="sub/special shares in a region")
    p.add_argument("--kit-region", default="core", choices=("core", "high", "all"))
    p.add_argument("--all", action="store_true", help="every section above")
    add_quantile(p)
    p.set_defaults(run=command(_overview, render_overview))

    p = feature_parser(sub, "tokens", "enhancer and suppressor tokens with effect sizes")
    p.add_argument("--collapse", action="store_true", help="abilities instead of tokens")
    p.add_argument("--min-n", type=int, default=20, help="samples needed with and without")
    p.add_argument("--top-k", type=int, default=15)
    add_quantile(p)
    p.set_defaults(run=command(_tokens, render_tokens))

    p = feature_parser(sub, "decoder", "output influence, decoder percentiles, similar features")
    p.add_argument("--top-k", type=int, default=15)
    p.add_argument("--exclude-family", action="append", default=[], metavar="FAMILY")
    p.add_argument("--similar", type=int, default=10)
    p.set_defaults(run=command(_decoder, render_decoder))


# --- overview ---------------------------------------------------------------------------------


def _overview(reader, a):
    every = a.all
    return investigation().overview(
        reader,
        a.feature,
        top_k=a.top_k,
        n_contexts=a.contexts,
        enrichment=every or a.enrichment,
        regions=every or a.regions,
        binary=every or a.binary,
        kits=every or a.kits,
        kit_region=a.kit_region,
        high_quantile=a.high_quantile,
    )


def render_overview(o: dict, args=None) -> None:
    s = o["stats"]
    print(f"feature {o['feature_id']} over {o['population']}")
    print(
        f"  fires on {s['n_firing']:,} of {s['n_samples']:,} samples ({pct(s['firing_rate'])})"
        f"; ReLU floor (exactly 0): {pct(s['relu_floor_share'])} of all samples"
    )
    print(
        "  "
        + "  ".join(
            f"{k}={fmt(s[k])}"
            for k in (
                "mean_all",
                "mean_firing",
                "median_firing",
                "p90_firing",
                "p99_firing",
                "max",
                "effective_max",
            )
        )
    )
    lab = o["label"]
    print(
        "  label: "
        + (f"{lab['name']} ({lab['category']}, v{lab.get('version')})" if lab else "(none)")
    )
    table(
        o["top_tokens"],
        [
            ("token", "token"),
            ("coverage", "coverage"),
            ("base rate", "base_rate"),
            ("lift", "lift"),
        ],
        "top tokens (activation-weighted coverage vs base rate over all samples)",
    )
    table(
        o["ability_shares"],
        [
            ("ability", "ability"),
            ("share", "share"),
            ("base share", "base_share"),
            ("lift", "lift"),
        ],
        "ability shares",
    )
    table(
        o["top_weapons"],
        [
            ("weapon", "name"),
            ("id", "weapon_id"),
            ("class", "weapon_class"),
            ("share", "share"),
            ("base share", "base_share"),
            ("lift", "lift"),
            ("n firing", "n_firing"),
        ],
        "weapons (activation share)",
    )
    print("\ntop contexts")
    for c in o["sample_contexts"]:
        print(
            f"  #{c['rank']} {c['activation']:.4g}  {c['weapon']} ({c['weapon_id']}): "
            + " ".join(c["tokens"])
        )
    if "token_effects" in o:
        render_tokens(o["token_effects"])
    if "regions" in o:
        render_regions(o["regions"])
        render_coverage(o["coverage"])
    if "binary" in o:
        render_binary(o["binary"])
    if "kits" in o:
        k = o["kits"]
        for kind in ("sub", "special", "kit"):
            table(
                k[kind],
                [(kind, "key"), ("count", "count"), ("share", "share")],
                f"{kind} among the {k['n']:,} firing samples of the {k['region']} region",
            )


def render_regions(r: dict, args=None) -> None:
    rows = [
        {
            **x,
            "weapons": ", ".join(
                f"{w['name']} {100 * w['share']:.0f}%" for w in x["top_weapons"][:3]
            ),
            "abilities": ", ".join(
                f"{a['ability']} {100 * a['coverage']:.0f}%" for a in x["top_abilities"][:3]
            ),
        }
        for x in r["regions"]
    ]
    table(
        rows,
        [
            ("region", "region"),
            ("lo", "lo"),
            ("hi", "hi"),
            ("n", "n"),
            ("share", "share"),
            ("top weapons", "weapons"),
            ("top abilities", "abilities"),
        ],
        f"regions (effective max {fmt(r['effective_max'])}; {r['population']})",
    )


# --- tokens -----------------------------------------------------------------------------------


def _tokens(reader, a):
    return investigation().token_effects(
        reader,
        a.feature,
        collapse=a.collapse,
        high_quantile=a.high_quantile,
        min_n=a.min_n,
        top_k=a.top_k,
    )


TOKEN_COLS = [
    ("item", "item"),
    ("n with", "n_with"),
    ("mean with", "mean_with"),
    ("mean without", "mean_without"),
    ("delta", "delta"),
    ("cohen d", "cohens_d"),
    ("fires with", "firing_with"),
    ("rate all", "rate_all"),
    ("rate high", "rate_high"),
    ("ratio", "ratio"),
]


def render_tokens(t: dict, args=None) -> None:
    print(
        f"\ntoken effects of feature {t['feature_id']} over {t['population']}; high group: "
        f"{t['n_high']:,} firing samples >= {fmt(t['high_threshold'])} (quantile "
        f"{t['high_quantile']} of nonzero)"
    )
    table(t["enhancers"], TOKEN_COLS, "enhancers (ratio > 1.2, delta > 0)")
    table(t["suppressors"], TOKEN_COLS, "suppressors (ratio < 0.8, delta < 0)")


# --- decoder ----------------------------------------------------------------------------------


def _decoder(reader, a):
    return investigation().decoder_analysis(
        reader, a.feature, top_k=a.top_k, exclude=a.exclude_family, n_similar=a.similar
    )


def render_decoder(d: dict, args=None) -> None:
    print(f"feature {d['feature_id']}: {d['definition']}")
    print(
        f"  influence norm {fmt(d['influence_norm'])} (percentile "
        f"{fmt(d['influence_norm_percentile'])}); importance {fmt(d['importance'])} "
        f"(percentile {fmt(d['importance_percentile'])}); decoder norm "
        f"{fmt(d['decoder_norm'])}"
        + (" (unit-norm dictionary: all equal)" if d["decoder_norms_equal"] else "")
    )
    cols = [("token", "token"), ("influence", "value"), ("ability", "ability"), ("rung", "rung")]
    table(d["promoted"], cols, "promoted")
    table(d["suppressed"], cols, "suppressed")
    if d["excluded_families"]:
        table(d["excluded_promoted"], cols, "promoted by excluded families")
    table(
        d["families"][:6] + d["families"][-3:],
        [("ability", "ability"), ("mean", "mean"), ("max", "max"), ("min", "min")],
        "by ability (highest and lowest mean)",
    )
    if d["note"]:
        print(f"\nnote: {d['note']}")
    table(
        d["similar"],
        [("feature", "feature_id"), ("cosine", "cosine")],
        "most similar decoder directions",
    )
