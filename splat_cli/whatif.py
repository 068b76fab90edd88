"""`splat whatif FEATURE`: edit builds, re-run the model and the SAE, report the change.

Over the feature's top (or core) examples by default; with `--weapon` (and `--ability`) on
one build. Without edits: a default battery (remove each held ability, add each main-only
ability, raise each family to 12 and 29) on examples, every single edit on a build.
"""

from __future__ import annotations

from splat_cli.common import (
    add_build_options,
    add_example_options,
    command,
    feature_parser,
    investigation,
)
from splat_cli.render import fmt, table
from splat_core.domain.vocab import MAIN_AP, MAIN_ONLY


def register(sub) -> None:
    p = feature_parser(sub, "whatif", "interventions: edit builds, re-run model and SAE")
    p.add_argument(
        "--add",
        action="append",
        default=[],
        metavar="TOKEN",
        help="add a token (swim_speed_up_21, stealth_jump)",
    )
    p.add_argument(
        "--remove",
        action="append",
        default=[],
        metavar="TOKEN|ABILITY",
        help="remove a token, or every rung of a family",
    )
    p.add_argument(
        "--raise",
        dest="raise_",
        action="append",
        default=[],
        metavar="FAMILY=RUNG",
        help="add the family's missing rungs up to RUNG",
    )
    p.add_argument("--swap-weapon", action="append", default=[], metavar="ID")
    add_example_options(p, 50, "edit")
    p.add_argument("--per-example", action="store_true", help="JSON: each example's delta")
    p.add_argument("--show", type=int, default=20, help="rows shown in the table")
    add_build_options(p, "edit")
    p.set_defaults(run=command(_compute, _render))


def parse_abilities(items: list[str]) -> dict[str, int]:
    out = {}
    for item in items:
        name, sep, ap = item.partition("=")
        names = investigation().names
        ability = names.ability(name)
        if not sep and ability not in MAIN_ONLY:
            raise names.UnknownNameError(f"{ability} needs an AP value, e.g. {ability}=12")
        try:
            out[ability] = int(ap) if sep else MAIN_AP
        except ValueError:
            raise ValueError(f"AP of {ability} must be an integer, got {ap!r}") from None
    return out


def _compute(reader, a):
    reader.activations(a.feature, limit=0)  # an unknown feature fails first
    edits = investigation().parse_edits(
        reader.encoder.weapon_vocab, a.add, a.remove, a.raise_, a.swap_weapon
    )
    if a.weapon is not None:
        result = investigation().whatif_build(
            reader, a.feature, a.weapon, parse_abilities(a.ability), edits
        )
    elif a.ability:
        raise ValueError("--ability describes a build: give its --weapon too")
    else:
        result = investigation().whatif_examples(
            reader, a.feature, edits, a.examples, a.source, a.seed, a.per_example
        )
    return result


def _render(r: dict, args=None) -> None:
    show = args.show if args is not None else 20
    if "variants" in r:
        print(
            f"feature {r['feature_id']} on weapon {r['weapon_id']} with "
            f"{' '.join(r['tokens'])}: activation {fmt(r['activation'])}"
        )
        table(
            r["variants"][:show],
            [
                ("edit", "edit"),
                ("activation", "activation"),
                ("delta", "delta"),
                ("skipped", "skipped"),
            ],
            "edits (largest |delta| first)",
        )
        return
    print(f"feature {r['feature_id']}: edits over {r['population']}")
    print(
        f"  stored mean {fmt(r['stored_mean'])}; recomputed {fmt(r['base_mean'])} (max diff "
        f"{fmt(r['max_recompute_diff'])})"
    )
    table(
        r["edits"][:show],
        [
            ("edit", "edit"),
            ("applied", "n_applied"),
            ("no-op", "n_noop"),
            ("illegal", "n_illegal"),
            ("mean delta", "mean_delta"),
            ("median", "median_delta"),
            ("stderr", "stderr"),
            ("up", "frac_increase"),
            ("down", "frac_decrease"),
            ("off", "frac_off"),
            ("n>=20", "reliable"),
        ],
        "edits (n >= 20 first, then largest |mean delta|; means over applied examples)",
    )
