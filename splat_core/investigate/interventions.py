"""Interventions: edit builds, run the model and the SAE again, and measure the feature.

The sweeps only say which builds the feature co-occurs with; an edit says what the feature
does when one thing changes and nothing else. Edits work on token sets (samples are
partial builds, not always cumulative): add a token, remove a token or a whole ability,
raise a family to a rung (add its missing rung tokens up to it), or swap the weapon. An
edit that changes nothing is a no-op; one that breaks the game's rules (two main-only
abilities for one gear piece, over 57 AP) is illegal; both are counted, not measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from splat_core.domain.vocab import (
    FULL_AP,
    MAIN_AP,
    MAIN_ONLY,
    MAIN_ONLY_SLOT,
    NULL,
    RUNGS,
    STANDARD,
    is_content_token,
    rung_token,
    token_info,
)
from splat_core.investigate import names
from splat_core.investigate.groups import num
from splat_core.investigate.population import feature
from splat_core.investigate.regions import effective_max

BATCH = 1024
RELIABLE_N = 20  # as in the sweeps: fewer applied examples, no claim
DEFAULT_RAISE = (12, 29)  # a main + a sub; two mains + three subs


@dataclass(frozen=True)
class Edit:
    kind: str  # add | remove | raise | weapon
    target: str  # a token, a token or ability, a family, or a weapon id
    rung: int | None = None  # raise only

    def __str__(self) -> str:
        return f"{self.kind} {self.target}" + (f"={self.rung}" if self.rung else "")

    def apply(self, tokens: list[str], weapon_id: int) -> tuple[list[str], int] | None:
        """The edited (tokens, weapon), or None if the edit changes nothing."""
        toks = [t for t in tokens if t != NULL]
        if self.kind == "weapon":
            w = int(self.target)
            return None if w == weapon_id else (tokens, w)
        if self.kind == "add":
            new = None if self.target in toks else [*toks, self.target]
        elif self.kind == "remove":
            if is_content_token(self.target):  # one token (a main-only name is one too)
                gone = [t for t in toks if t == self.target]
            else:  # a family: every rung of it
                gone = [t for t in toks if _ability(t) == self.target]
            new = [t for t in toks if t not in gone] if gone else None
        else:
            missing = [rung_token(self.target, r) for r in RUNGS if r <= self.rung]
            missing = [t for t in missing if t not in toks]
            new = [*toks, *missing] if missing else None
        return None if new is None else (new or [NULL], weapon_id)


def _ability(token: str) -> str | None:
    return names.ability_of(token)[0]


def parse_edits(weapon_vocab, add=(), remove=(), raise_=(), weapons=()) -> list[Edit]:
    """Edits from the names a researcher types (raise as "family=rung"); validated."""
    out = [Edit("add", names.token(t)) for t in add]
    out += [Edit("remove", names.token_or_ability(t)) for t in remove]
    for spec in raise_:
        fam, sep, level = str(spec).partition("=")
        if not sep:
            raise names.UnknownNameError(
                f"raise takes FAMILY=RUNG (e.g. swim_speed_up=21), got {spec!r}"
            )
        out.append(Edit("raise", names.family(fam), names.rung(level)))
    out += [Edit("weapon", str(names.weapon(weapon_vocab, w))) for w in weapons]
    return out


def illegal(tokens: list[str]) -> str | None:
    """Why a token set is not a possible (partial) build, or None."""
    pieces, ap = {}, 0
    top: dict[str, int] = {}
    for t in tokens:
        if t == NULL:
            continue
        info = token_info(t)
        if info.main_only:
            piece = MAIN_ONLY_SLOT[t]
            if piece in pieces:
                return f"{pieces[piece]} and {t} are both main-only abilities for the {piece}"
            pieces[piece] = t
            ap += MAIN_AP
        else:
            top[info.ability] = max(top.get(info.ability, 0), info.rung)
    ap += sum(top.values())
    return f"{ap} AP exceeds {FULL_AP}" if ap > FULL_AP else None


def activations(reader, rows: list[tuple[int, list[str]]], f: int) -> np.ndarray:
    """Feature f's activation for (weapon id, tokens) rows, in batches."""
    enc = reader.encoder
    out = np.zeros(len(rows))
    for s in range(0, len(rows), BATCH):
        part = [(enc.weapon_index(w), t) for w, t in rows[s : s + BATCH]]
        out[s : s + len(part)] = enc.forward(part).acts[:, f]
    return out


def default_edits(examples) -> list[Edit]:
    held = {_ability(t) for e in examples for t in e.tokens} - {None}
    out = [Edit("remove", a) for a in (*MAIN_ONLY, *STANDARD) if a in held]
    out += [Edit("add", a) for a in MAIN_ONLY]
    return out + [Edit("raise", fam, r) for fam in STANDARD for r in DEFAULT_RAISE]


def pick_examples(reader, f: int, n: int, source: str, seed: int):
    """The top n examples, or n seeded random ones from the core region."""
    if source == "top":
        return reader.top_examples(f, n)
    if source != "core":
        raise ValueError(f"source must be 'top' or 'core', got {source!r}")
    ids, values = reader.activations(f)
    m = effective_max(values.astype(np.float64)) or 0.0
    pos = np.flatnonzero((values > 0.25 * m) & (values <= 0.75 * m))
    if len(pos) > n:
        pos = np.sort(np.random.default_rng(seed).choice(pos, size=n, replace=False))
    return reader.samples.examples(ids[pos], values[pos], pos + 1)


def _summary(edit: Edit, base, after, applied, noop, bad, per_example, examples) -> dict:
    d = after - base
    n = len(d)
    out = {
        "edit": str(edit),
        "kind": edit.kind,
        "target": edit.target,
        "rung": edit.rung,
        "n_applied": n,
        "n_noop": noop,
        "n_illegal": bad,
        "mean_base": num(base.mean()) if n else None,
        "mean_after": num(after.mean()) if n else None,
        "mean_delta": num(d.mean()) if n else None,
        "median_delta": num(np.median(d)) if n else None,
        "std_delta": num(d.std(ddof=1)) if n > 1 else None,
        "stderr": num(d.std(ddof=1) / np.sqrt(n)) if n > 1 else None,
        "frac_increase": num((d > 0).mean()) if n else None,
        "frac_decrease": num((d < 0).mean()) if n else None,
        "frac_off": num(((base > 0) & (after == 0)).mean()) if n else None,
        "reliable": n >= RELIABLE_N,
    }
    if per_example:
        out["examples"] = [
            {
                "sample_id": examples[i].sample_id,
                "base": float(base[k]),
                "after": float(after[k]),
                "delta": float(d[k]),
            }
            for k, i in enumerate(applied)
        ]
    return out


def whatif_examples(reader, f, edits=None, n=50, source="top", seed=0, per_example=False):
    """Each edit applied to each of the feature's examples: the activation change."""
    f = feature(reader, f)
    examples = pick_examples(reader, f, n, source, seed)
    edits = list(edits) if edits else default_edits(examples)
    rows = [(e.weapon.weapon_id, e.tokens) for e in examples]
    plan = []
    for edit in edits:
        applied, noop, bad = [], 0, 0
        for i, (w, toks) in enumerate(rows):
            new = edit.apply(toks, w)
            if new is None:
                noop += 1
            elif illegal(new[0]):
                bad += 1
            else:
                applied.append((i, new))
        plan.append((edit, applied, noop, bad))
    flat = rows + [(w, t) for _, applied, _, _ in plan for _, (t, w) in applied]
    acts = activations(reader, flat, f) if flat else np.zeros(0)
    base, at = acts[: len(rows)], len(rows)
    results = []
    for edit, applied, noop, bad in plan:
        idx = [i for i, _ in applied]
        after = acts[at : at + len(idx)]
        at += len(idx)
        results.append(_summary(edit, base[idx], after, idx, noop, bad, per_example, examples))
    # effects measured on >= 20 examples first: a delta from two examples is an anecdote
    results.sort(
        key=lambda r: (
            r["mean_delta"] is None,
            not r["reliable"],
            -abs(r["mean_delta"] or 0),
            r["edit"],
        )
    )
    stored = np.array([e.activation for e in examples])
    return {
        "feature_id": f,
        "source": source,
        "population": f"the feature's {len(examples)} "
        + ("top examples" if source == "top" else f"core-region examples (seed {seed})"),
        "n_examples": len(examples),
        "stored_mean": num(stored.mean()) if len(stored) else None,
        "base_mean": num(base.mean()) if len(base) else None,
        "max_recompute_diff": num(np.abs(base - stored).max()) if len(base) else None,
        "edits": results,
    }


def whatif_build(reader, f, weapon_id, abilities: dict, edits=None, top_changes: int = 3):
    """Edits of one build (weapon + ability AP). Without edits: every single edit (the next
    rung of each family, each absent main-only, each removal, each weapon swap)."""
    f = feature(reader, f)
    enc = reader.encoder
    weapon_id = names.weapon(enc.weapon_vocab, weapon_id)
    abilities = {names.ability(a): int(v) for a, v in abilities.items()}
    tokens = enc.tokens(abilities)
    if not edits:
        w = reader.whatif(weapon_id, abilities, feature=f, top_changes=top_changes)
        variants = [
            {
                "edit": f"{v.kind} {v.change}",
                "weapon_id": v.weapon_id,
                "tokens": v.tokens,
                "activation": v.feature_activation,
                "delta": v.feature_delta,
                "prediction_changes": v.prediction_changes,
            }
            for v in w.variants
        ]
        base = float(w.base.activations[f])
    else:
        variants, rows = [], [(weapon_id, tokens)]
        for edit in edits:
            new = edit.apply(tokens, weapon_id)
            why = "no change" if new is None else illegal(new[0])
            w, t = (None, None) if new is None else (new[1], new[0])
            variants.append({"edit": str(edit), "weapon_id": w, "tokens": t, "skipped": why})
            if why is None:
                rows.append((new[1], new[0]))
        acts = activations(reader, rows, f)
        base, k = float(acts[0]), 1
        for v in variants:
            if v["skipped"] is None:
                v["activation"], v["delta"] = float(acts[k]), float(acts[k] - acts[0])
                k += 1
        variants.sort(key=lambda v: (v.get("delta") is None, -abs(v.get("delta") or 0)))
    return {
        "feature_id": f,
        "weapon_id": weapon_id,
        "abilities": abilities,
        "tokens": tokens,
        "activation": base,
        "variants": variants,
    }
