"""`splat examples FEATURE`: top examples (`--group`: identical inputs merged with a count),
and with `--negatives` samples where the feature does not fire (random and hard)."""

from __future__ import annotations

from splat_cli.common import command, feature_parser
from splat_cli.render import table


def register(sub) -> None:
    p = feature_parser(sub, "examples", "top examples, grouped inputs and non-firing samples")
    p.add_argument("-k", type=int, default=20, help="examples (groups with --group)")
    p.add_argument("--group", action="store_true", help="merge identical weapon + tokens")
    p.add_argument("--negatives", action="store_true", help="random and hard negatives")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=command(_examples, _render))


def _examples(reader, a) -> dict:
    from splat_core.investigate import examples as ex

    if a.group:
        top = [g.to_dict() for g in ex.grouped_examples(reader, a.feature, a.k)]
    else:
        top = [e.to_dict() for e in reader.top_examples(a.feature, a.k)]
    out = {"feature_id": a.feature, "grouped": a.group, "examples": top}
    if a.negatives:
        out["negatives"] = ex.non_activating(reader, a.feature, a.k, a.seed).to_dict()
    return out


def _rows(items: list[dict]) -> list[dict]:
    return [
        {**x, "weapon": x["weapon"]["name"] or x["weapon"]["weapon_id"],
         "tokens": " ".join(x["tokens"])}
        for x in items
    ]  # fmt: skip


def _render(out: dict, a) -> None:
    f = out["feature_id"]
    if out["grouped"]:
        cols = [
            ("#", "rank"),
            ("count", "count"),
            ("max", "max_activation"),
            ("mean", "mean_activation"),
            ("weapon", "weapon"),
            ("tokens", "tokens"),
        ]
        table(_rows(out["examples"]), cols, f"feature {f}: top distinct inputs")
    else:
        cols = [("#", "rank"), ("activation", "activation"), ("sample", "sample_id"),
                ("weapon", "weapon"), ("tokens", "tokens")]  # fmt: skip
        table(_rows(out["examples"]), cols, f"feature {f}: top examples")
    if "negatives" in out:
        neg = out["negatives"]
        cols = [("sample", "sample_id"), ("shared", "shared"), ("weapon", "weapon"),
                ("tokens", "tokens")]  # fmt: skip
        title = "hard negatives (do not fire; hold top tokens " + ", ".join(neg["top_tokens"])
        table(_rows(neg["hard"]), cols, title + ")")
        table(_rows(neg["random"]), cols, "random samples where it does not fire")
