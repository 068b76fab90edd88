"""Within-family interference: do a family's lower rungs carry the effect without its top?

Rung tokens of a family are cumulative in a full build (21 AP holds 3, 6, 12, 15 and 21),
so a sweep cannot tell whether the feature reads the top rung or any rung of the family.
On the model: for each of the feature's examples that holds the family, its activation
(a) as is, (b) with only its top rung token of the family removed (lower rungs kept) and
(c) with every rung token of the family removed; all else unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from splat_core.domain.vocab import MAIN_ONLY, NULL
from splat_core.investigate import names
from splat_core.investigate.groups import num
from splat_core.investigate.interventions import activations, pick_examples
from splat_core.investigate.population import feature
from splat_core.investigate.validation import check, null_summary


def sign_flips(n: int, n_perm: int, seed: int) -> np.ndarray:
    """[n_perm, n] random signs: the paired null (a change is as likely up as down)."""
    return np.random.default_rng([seed, 2]).choice([-1.0, 1.0], size=(n_perm, n))


def _mean_se(x: np.ndarray, signs: np.ndarray) -> dict:
    n = len(x)
    out = {
        "mean": num(x.mean()) if n else None,
        "stderr": num(x.std(ddof=1) / math.sqrt(n)) if n > 1 else None,
        "n": n,
    }
    if n:
        s = null_summary(float(x.mean()), (signs[:, :n] * x).mean(axis=1), two_sided=True)
        out["p_value"] = s["p_value"]
    else:
        out["p_value"] = None
    return out


def _ratio(top: float | None, full: float | None) -> float | None:
    return None if top is None or not full else num(top / full)


def _effects(a: np.ndarray, b: np.ndarray, c: np.ndarray, signs: np.ndarray) -> dict:
    top, full, lower = (_mean_se(d, signs) for d in (b - a, c - a, c - b))
    share = _ratio(top["mean"], full["mean"])
    return {
        "n": len(a),
        "remove_top": top,
        "remove_family": full,
        "lower_rungs": lower,
        "top_share": share,
        "lower_share": None if share is None else num(1 - share),
    }


def _sentence(family: str, e: dict) -> str:
    full = e["remove_family"]
    if e["top_share"] is None:
        return f"removing {family} does not change the activation on these examples"
    out = (
        f"removing the top rung of {family} alone gives {e['top_share']:.0%} of the change "
        f"from removing the whole family ({full['mean']:+.4g}); the lower rungs carry "
        f"{e['lower_share']:.0%}"
    )
    if full["stderr"] is None or abs(full["mean"]) < 2 * full["stderr"]:
        out += " (the whole family's change is within 2 standard errors of 0: shares unreliable)"
    return out


def interference(
    reader, f: int, family: str, n: int = 50, source: str = "top", seed: int = 0,
    n_perm: int = 200, per_example: bool = False,
) -> dict:  # fmt: skip
    """(b - a), (c - a), (c - b) as means with standard errors over the examples holding
    the family, and the share of the full removal's drop the top rung alone accounts for."""
    check(n_perm, seed)
    ability = names.ability(family)
    f = feature(reader, f)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    base = {"feature_id": f, "family": ability, "source": source, "seed": int(seed),
            "n_perm": int(n_perm)}  # fmt: skip
    if ability in MAIN_ONLY:
        return {**base, "applies": False, "population": "none",
                "reason": f"{ability} is main-only: one token, no lower rungs"}  # fmt: skip
    examples = pick_examples(reader, f, n, source, seed)
    held, rows = [], []
    for e in examples:
        mine = [(names.ability_of(t)[1], t) for t in e.tokens if names.ability_of(t)[0] == ability]
        if not mine:
            continue
        top = max(mine)[1]
        rest = [t for t in e.tokens if t != NULL]
        without_top = [t for t in rest if t != top] or [NULL]
        without_all = [t for t in rest if names.ability_of(t)[0] != ability] or [NULL]
        w = e.weapon.weapon_id
        held.append((e, top, len(mine) > 1))
        rows += [(w, e.tokens), (w, without_top), (w, without_all)]
    acts = activations(reader, rows, f).reshape(-1, 3) if rows else np.zeros((0, 3))
    a, b, c = acts.T
    lower = np.array([x[2] for x in held], bool)
    stored = np.array([x[0].activation for x in held], float)
    signs = sign_flips(len(held), n_perm, seed)
    effects = _effects(a, b, c, signs)
    pop = (
        f"the {len(held)} of the feature's {len(examples)} "
        + ("top examples" if source == "top" else f"core-region examples (seed {seed})")
        + f" that hold {ability} ({int(lower.sum())} of them with lower rungs too)"
    )
    out = {
        **base,
        "applies": True,
        "population": pop,
        "n_examples": len(examples),
        "n_holding": len(held),
        "n_with_lower_rungs": int(lower.sum()),
        "base_mean": num(a.mean()) if len(a) else None,
        "max_recompute_diff": num(np.abs(a - stored).max()) if len(a) else None,
        "all_holding": effects,
        "with_lower_rungs": _effects(a[lower], b[lower], c[lower], signs),
        "summary": _sentence(ability, effects),
        "definitions": {
            "a, b, c": "the activation as is (a), with only the top rung token of the family "
            "removed (b), with every rung token of the family removed (c); re-computed on "
            "the model and the SAE",
            "remove_top": "b - a: mean and standard error over the examples",
            "remove_family": "c - a",
            "lower_rungs": "c - b: what removing the lower rungs adds once the top is gone",
            "top_share": "mean(b - a) / mean(c - a): the share of the full removal's change "
            "that removing the top rung alone gives (1: the top rung carries it all)",
            "lower_share": "1 - top_share = mean(c - b) / mean(c - a): the share the lower "
            "rungs carry when the top rung is removed",
            "p_value": "paired sign-flip null: each example's change multiplied by a random "
            "sign (np.random.default_rng([seed, 2]).choice([-1, 1], (n_perm, n))), "
            "p = (1 + #|null mean| >= |mean|) / (1 + n_perm), two-sided",
            "with_lower_rungs": "the same over the examples holding a lower rung of the "
            "family too (on the others b = c)",
        },
    }
    if per_example:
        out["examples"] = [
            {"sample_id": e.sample_id, "top_token": t, "a": float(x), "b": float(y),
             "c": float(z)}
            for (e, t, _), x, y, z in zip(held, a, b, c, strict=True)
        ]  # fmt: skip
    return out
