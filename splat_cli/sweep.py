"""`splat sweep family|heatmap|weapon|kit|binary|coverage FEATURE`: observational sweeps.

Groups cover all samples (zeros included) unless `--population firing`; every table says
which population it averages over.
"""

from __future__ import annotations

from splat_cli.common import add_quantile, command, feature_parser, investigation
from splat_cli.render import fmt, table

STAT_COLS = [
    ("n", "n"),
    ("mean", "mean"),
    ("std", "std"),
    ("stderr", "stderr"),
    ("fires", "firing_rate"),
    ("mean firing", "mean_firing"),
    ("delta", "delta"),
]


def register(sub) -> None:
    p = sub.add_parser("sweep", help="activation by ability rung, weapon, kit or region")
    s = p.add_subparsers(dest="sweep_command", required=True, metavar="SWEEP")

    q = _sweep(s, "family", "activation by the highest rung of a family each sample holds")
    q.add_argument("--family", required=True, help="family or main-only ability (or SSU...)")
    q.set_defaults(
        run=command(
            lambda r, a: investigation().family_sweep(r, a.feature, a.family, a.population),
            render_family,
        )
    )

    q = _sweep(s, "heatmap", "activation per (rung of X, rung of Y) cell")
    q.add_argument("--x", required=True, help="family on the x axis")
    q.add_argument("--y", required=True, help="family on the y axis")
    q.add_argument("--x-rungs", type=_ints, default=None, help="bins, e.g. 6,21 (0 is implied)")
    q.add_argument("--y-rungs", type=_ints, default=None)
    q.set_defaults(
        run=command(
            lambda r, a: investigation().heatmap(
                r, a.feature, a.x, a.y, a.x_rungs, a.y_rungs, a.population
            ),
            render_heatmap,
        )
    )

    q = _sweep(s, "weapon", "activation per weapon and class")
    _group_options(q, 20)
    q.set_defaults(
        run=command(
            lambda r, a: investigation().weapon_sweep(r, a.feature, a.min_n, a.top_k, a.population),
            render_weapon,
        )
    )

    q = _sweep(s, "kit", "activation per sub weapon, special and sub+special kit")
    _group_options(q, 15)
    q.set_defaults(
        run=command(
            lambda r, a: investigation().kit_sweep(r, a.feature, a.min_n, a.top_k, a.population),
            render_kit,
        )
    )

    q = feature_parser(s, "binary", "main-only abilities: with vs without, enrichment")
    q.add_argument("--min-n", type=int, default=20)
    add_quantile(q)
    q.set_defaults(
        run=command(
            lambda r, a: investigation().binary_sweep(r, a.feature, a.high_quantile, a.min_n),
            render_binary,
        )
    )

    q = feature_parser(s, "coverage", "core vs tail coverage of abilities and weapons")
    q.add_argument("--threshold", type=float, default=0.3, help="core coverage for the notes")
    q.set_defaults(
        run=command(
            lambda r, a: investigation().coverage(r, a.feature, a.threshold), render_coverage
        )
    )


def _sweep(s, name: str, help_: str):
    q = feature_parser(s, name, help_)
    q.add_argument(
        "--population",
        choices=("all", "firing"),
        default="all",
        help="all samples, zeros included (default), or only firing ones",
    )
    return q


def _group_options(q, top_k: int) -> None:
    q.add_argument("--min-n", type=int, default=10, help="smallest group shown")
    q.add_argument("--top-k", type=int, default=top_k)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _head(r: dict, what: str) -> None:
    print(f"feature {r['feature_id']}: {what}\n  population: {r['population']}")


def render_family(r: dict, args=None) -> None:
    _head(r, f"activation by rung of {r['family']}")
    print(f"  rule: {r['rule']}\n  delta: against {r['baseline']}")
    table(r["rows"], [("rung", "label"), *STAT_COLS, ("n>=20", "reliable")])
    if r["empty_rungs"]:
        print(f"  no samples at rungs {r['empty_rungs']}")


def render_heatmap(r: dict, args=None) -> None:
    _head(r, f"{r['x']} (x) by {r['y']} (y); bins x {r['x_bins']}, y {r['y_bins']}")
    print(f"  delta: against {r['baseline']}")
    table(r["cells"], [("x", "x_rung"), ("y", "y_rung"), *STAT_COLS, ("n>=20", "reliable")])
    grid = {(c["x_rung"], c["y_rung"]): c["mean"] for c in r["cells"]}
    print(f"\n  mean  {'  '.join(f'{y:>7}' for y in r['y_bins'])}   (y ->)")
    for x in r["x_bins"]:
        print(f"  {x:>4}  " + "  ".join(f"{fmt(grid.get((x, y))):>7}" for y in r["y_bins"]))


def _group(r: dict, title: str, extra=()) -> None:
    table(
        r["rows"],
        [("key", "key"), *extra, *STAT_COLS],
        f"{title} ({r['n_groups']} with n >= {r['min_n']}; delta vs mean {fmt(r['mean'])})",
    )


def render_weapon(r: dict, args=None) -> None:
    _head(r, "activation by weapon")
    _group(r["weapons"], "weapons", [("name", "name"), ("class", "weapon_class")])
    _group(r["classes"], "classes")
    if r["warning"]:
        print(f"\nwarning: {r['warning']}")


def render_kit(r: dict, args=None) -> None:
    _head(r, "activation by kit")
    for kind in ("sub", "special", "kit"):
        _group(r[kind], kind)


def render_binary(r: dict, args=None) -> None:
    print(
        f"\nmain-only abilities of feature {r['feature_id']} over {r['population']}; high "
        f"group {r['n_high']:,} samples >= {fmt(r['high_threshold'])} (quantile "
        f"{r['high_quantile']})"
    )
    table(
        r["rows"],
        [
            ("ability", "ability"),
            ("n with", "n_with"),
            ("mean with", "mean_with"),
            ("mean without", "mean_without"),
            ("delta", "delta"),
            ("cohen d", "cohens_d"),
            ("rate all", "rate_all"),
            ("rate high", "rate_high"),
            ("enrichment", "enrichment"),
            ("flag", "flag"),
        ],
    )
    if r["skipped_low_n"]:
        print(f"  too rare to test: {', '.join(r['skipped_low_n'])}")


def render_coverage(r: dict, args=None) -> None:
    print(
        f"\ncoverage of feature {r['feature_id']}: {r['n_core']:,} core and {r['n_tail']:,} "
        f"tail samples (effective max {fmt(r['effective_max'])}; {r['population']})"
    )
    table(
        r["abilities"],
        [
            ("ability", "ability"),
            ("core", "core_coverage"),
            ("tail", "tail_coverage"),
            ("tail/core", "tail_enrichment"),
            ("verdict", "verdict"),
        ],
        "abilities (headline >= 50% of the core)",
    )
    table(
        r["weapons"][:10],
        [
            ("weapon", "name"),
            ("core", "core_share"),
            ("tail", "tail_share"),
            ("tail/core", "tail_enrichment"),
            ("flanderized", "flanderized"),
        ],
        "weapons",
    )
    if r["warning"]:
        print(f"\nwarning: {r['warning']}")
