"""`splat interact|minimal|itemsets FEATURE`: how abilities combine in a feature.

`interact` sets two families to every cell of a rung grid on the feature's examples and
re-runs the model (the term beyond additive effects, with its standard error); with `--z`
the three-way version on a 2x2x2 grid. `minimal` finds the smallest token subsets of the
top examples that keep the feature up; `itemsets` lists ability (or token) sets
over-represented among the high activations, with support and lift.
"""

from __future__ import annotations

import argparse

from splat_cli.common import (
    add_example_options,
    add_quantile,
    command,
    feature_parser,
    investigation,
    positive_int,
)
from splat_cli.render import fmt, table


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected rungs like 6,21, got {text!r}") from None


def register(sub) -> None:
    p = feature_parser(sub, "interact", "interaction of two (or three) families, model re-run")
    p.add_argument("x", help="first family or main-only ability (or a code: SSU)")
    p.add_argument("y", help="second family")
    p.add_argument("--z", default=None, help="a third family: the three-way interaction")
    p.add_argument("--x-rungs", type=_ints, default=None, help="grid of x, e.g. 6,21 (0 implied)")
    p.add_argument("--y-rungs", type=_ints, default=None, help="grid of y")
    p.add_argument("--rungs", type=_ints, default=None, help="with --z: RX,RY,RZ (default 12)")
    add_example_options(p, 50, "set to the grid")
    p.set_defaults(run=command(_interact, _render_interact))

    p = feature_parser(sub, "minimal", "minimal token subsets of examples keeping it up")
    add_example_options(p, 20, "search")
    p.add_argument("--fraction", type=float, default=0.5, help="of the example's activation")
    p.add_argument("--max-tokens", type=int, default=12, help="examples above: cut search")
    p.add_argument("--max-evals", type=positive_int, default=4096, help="model rows per example")
    p.add_argument("--show", type=int, default=15, help="rows shown per table")
    p.set_defaults(
        run=command(
            lambda r, a: investigation().minimal_sets(
                r,
                a.feature,
                a.examples,
                a.fraction,
                a.max_tokens,
                a.max_evals,
                source=a.source,
                seed=a.seed,
            ),
            _render_minimal,
        )
    )

    p = feature_parser(sub, "itemsets", "ability sets over-represented among high activations")
    add_quantile(p)
    p.add_argument("--max-size", type=positive_int, default=3)
    p.add_argument("--min-support", type=float, default=0.05, help="fraction of the high group")
    p.add_argument("--top-k", type=positive_int, default=20)
    p.add_argument("--tokens", action="store_true", help="items are tokens, not abilities")
    p.set_defaults(
        run=command(
            lambda r, a: investigation().contrastive_itemsets(
                r, a.feature, a.high_quantile, a.max_size, a.min_support, a.top_k, not a.tokens
            ),
            _render_itemsets,
        )
    )


def _interact(reader, a):
    inv = investigation()
    if a.z is None:
        if a.rungs is not None:
            raise ValueError("--rungs goes with --z; use --x-rungs and --y-rungs for two")
        return inv.interaction(
            reader, a.feature, a.x, a.y, a.x_rungs, a.y_rungs, a.examples, a.source, a.seed
        )
    if a.x_rungs is not None or a.y_rungs is not None:
        raise ValueError("with --z give the three rungs as --rungs RX,RY,RZ")
    return inv.interaction3(reader, a.feature, a.x, a.y, a.z, a.rungs, a.examples, a.source, a.seed)


def _head(r: dict) -> None:
    print(f"feature {r['feature_id']} · {r['population']}")
    print(
        f"  stored mean {fmt(r['stored_mean'])}, re-computed {fmt(r['base_mean'])}; "
        f"{r['n_illegal']} illegal cells skipped"
    )


def _render_interact(r: dict, args=None) -> None:
    _head(r)
    if "three_way" in r:
        fams = " × ".join(f"{f}={g}" for f, g in zip(r["families"], r["rungs"], strict=True))
        t = r["three_way"]
        print(f"  three-way term ({fams}): {fmt(t['mean'])} ± {fmt(t['stderr'])} (n {t['n']})")
        rows = [{**p, "pair": " × ".join(p["families"])} for p in r["pairwise"]]
        cols = [("pair", "pair"), ("absent", "absent"), ("mean", "mean"), ("stderr", "stderr")]
        table(rows, [*cols, ("z", "z"), ("n", "n")], "pairwise terms, the third absent")
        cells = [{**c, "cell": "+".join(c["present"]) or "(none)"} for c in r["cells"]]
        cols = [("present", "cell"), ("n", "n"), ("mean", "mean"), ("stderr", "stderr")]
        table(cells, [*cols, ("illegal", "n_illegal")], "cells")
        return
    print(f"  {r['definitions']['interaction']}")
    cols = [("x", "x_rung"), ("y", "y_rung"), ("n", "n"), ("mean", "mean"), ("I", "interaction")]
    cols += [("stderr", "interaction_stderr"), ("z", "z"), ("illegal", "n_illegal")]
    table([c for c in r["cells"] if c["x_rung"] and c["y_rung"]], cols, f"{r['x']} × {r['y']}")
    main = [("rung", "rung"), ("effect", "mean"), ("stderr", "stderr"), ("n", "n")]
    table(r["main_x"], main, f"main effect of {r['x']} ({r['y']} absent)")
    table(r["main_y"], main, f"main effect of {r['y']} ({r['x']} absent)")
    s = r["strongest"]
    if s:
        print(
            f"\nstrongest: {r['x']}={s['x_rung']} × {r['y']}={s['y_rung']}: "
            f"I = {fmt(s['interaction'])} ± {fmt(s['interaction_stderr'])} (z {fmt(s['z'])})"
        )


def _render_minimal(r: dict, args=None) -> None:
    show = args.show if args is not None else 15
    print(f"feature {r['feature_id']} · {r['population']}")
    print(
        f"  kept >= {r['fraction']:g} x activation: {r['n_complete']} of {r['n_examples']} "
        f"examples searched to the end; the weapon alone suffices on {r['n_weapon_alone']}"
    )
    sets = [{**s, "set": " ".join(s["tokens"]) or "(weapon alone)"} for s in r["sets"]]
    cols = [("set", "set"), ("examples", "n_examples"), ("kept", "mean_kept_fraction")]
    table(sets[:show], cols, "minimal sets (most examples first)")
    cols = [("token", "token"), ("examples", "n_examples"), ("share", "share")]
    table(r["token_shares"][:show], cols, "tokens in minimal sets")
    cut = [e for e in r["examples"] if e["note"]]
    for e in cut[:show]:
        print(f"  sample {e['sample_id']}: {e['note']}")


def _render_itemsets(r: dict, args=None) -> None:
    print(f"feature {r['feature_id']} · {r['population']}")
    print(
        f"  high threshold {fmt(r['high_threshold'])}; support >= {r['min_support']:g} "
        f"({r['min_count']} samples); frequent by size {r['n_frequent']}"
    )
    rows = [{**s, "set": " + ".join(s["items"])} for s in r["itemsets"]]
    cols = [("items", "set"), ("lift", "lift"), ("support high", "support_high")]
    cols += [("support all", "support_all"), ("count", "count"), ("subset lift", "max_subset_lift")]
    table(rows, cols, "itemsets (largest lift first)")
