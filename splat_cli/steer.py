"""`splat steer FEATURE`: clamp, scale or add a feature in the SAE reconstruction of a
build's pooled vector (or add α·its decoder direction with --direct), re-run the output
layer, and report each output token's probability change and the completed build's change.

On one build with `--weapon` (and `--ability`); otherwise over the feature's top (or core)
examples, as means with standard errors.
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
from splat_cli.whatif import parse_abilities


def register(sub) -> None:
    p = feature_parser(sub, "steer", "steering: edit features, re-run the output layer")
    ops = p.add_mutually_exclusive_group(required=True)
    ops.add_argument("--clamp", type=float, metavar="V", help="set the activation to V")
    ops.add_argument("--scale", type=float, metavar="X", help="multiply the activation by X")
    ops.add_argument("--add", type=float, metavar="V", help="add V to the activation")
    ops.add_argument(
        "--direct",
        type=float,
        metavar="ALPHA",
        help="add ALPHA x the decoder direction to the raw pooled vector (outside the SAE)",
    )
    p.add_argument(
        "--feature",
        dest="more",
        type=int,
        action="append",
        default=[],
        metavar="F",
        help="edit this feature too, the same way (repeatable)",
    )
    add_example_options(p, 50, "steer")
    p.add_argument("--show", type=int, default=20, help="rows shown in the table")
    add_build_options(p, "steer")
    p.set_defaults(run=command(_compute, _render))


def _edits(a) -> list:
    op = next(o for o in ("clamp", "scale", "add", "direct") if getattr(a, o) is not None)
    value = getattr(a, op)
    return [investigation().FeatureEdit(f, op, value) for f in [a.feature, *a.more]]


def _compute(reader, a):
    edits = _edits(a)
    if a.weapon is not None:
        return investigation().steer(reader, a.weapon, parse_abilities(a.ability), edits)
    if a.ability:
        raise ValueError("--ability describes a build: give its --weapon too")
    return investigation().steer_examples(reader, a.feature, edits, a.source, a.examples, a.seed)


def _completion(tokens: list[str]) -> str:
    return " ".join(tokens) or "(nothing)"


def _render(r: dict, args=None) -> None:
    show = args.show if args is not None else 20
    edits = ", ".join(r["edits"])
    if "tokens" in r:
        print(f"steer ({edits}) on weapon {r['weapon_id']} with {' '.join(r['tokens'])}")
        for f in r["features"]:
            print(f"  feature {f['feature_id']}: {fmt(f['before'])} -> {fmt(f['after'])}")
        print(f"  completion before: {_completion(r['completion_before'])}")
        print(f"  completion after:  {_completion(r['completion_after'])}")
        print(f"  added: {_completion(r['added'])}; removed: {_completion(r['removed'])}")
        cols = [("token", "token"), ("before", "before"), ("after", "after"), ("delta", "delta")]
        table(r["changes"][:show], cols, "output tokens (largest |delta| first)")
        return
    n, src = r["n_examples"], r["source"]
    print(f"steer ({edits}) over feature {r['feature_id']}'s {n} {src} examples")
    print(
        f"  completion changed on {r['n_completion_changed']} builds "
        f"({r['n_tokens_added']} tokens added, {r['n_tokens_removed']} removed)"
    )
    table(
        r["changes"][:show],
        [
            ("token", "token"),
            ("mean before", "mean_before"),
            ("mean after", "mean_after"),
            ("mean delta", "mean_delta"),
            ("stderr", "stderr"),
            ("n", "n"),
        ],
        "output tokens (largest |mean delta| first)",
    )
