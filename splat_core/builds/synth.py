"""The embedded synthetic build dataset, with planted archetypes as ground truth.

Builds are drawn slot by slot (3 mains + 9 subs), so every one is legal by construction:
weapon (Zipf popularity) -> one of the weapon's 2-4 archetypes (class priors, kit shift) ->
template mains/subs -> utility picks -> slot noise. Popular (weapon, archetype) pairs repeat
"meta" builds, capped at 100 copies per (weapon, build) as the reference's curation did.
A small share of round-robin "coverage" builds max one family at a time, so that every rung
and every main-only ability occurs even in a small dataset. They are labelled `coverage`: a
device, not a planted preference pattern (14 families in rotation share no concept).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from splat_core.atomic import atomic_file
from splat_core.builds.archetypes import (
    ARCHETYPE_NAMES,
    ARCHETYPES,
    CLASS_POOLS,
    KIT_SENSITIVE,
    UTILITY,
    Archetype,
)
from splat_core.builds.reference import write_reference_dataset
from splat_core.builds.table import BuildTable
from splat_core.domain.vocab import (
    ABILITIES,
    MAIN_AP,
    MAIN_ONLY,
    MAIN_ONLY_SLOT,
    PIECES,
    RUNGS,
    STANDARD,
    SUB_AP,
    Vocab,
    WeaponVocab,
    content_tokens,
)
from splat_core.domain.weapons import weapon_table

MAX_COPIES = 100  # copies of one (weapon, build) at most, as the reference's curation


@dataclass(frozen=True)
class SynthConfig:
    n_builds: int = 60_000
    seed: int = 0
    noise: float = 0.10  # probability that a slot is resampled uniformly
    utility: float = 0.35  # probability of one utility sub
    meta_frac: float = 0.2  # probability that a build copies a meta build of its pair
    n_meta: int = 2  # meta builds per (weapon, archetype)
    coverage_frac: float = 0.02
    zipf: float = 1.0  # weapon popularity exponent


@dataclass
class WeaponPlan:
    archetypes: list[int]  # indices into ARCHETYPES
    weights: np.ndarray
    signature: int  # standard family index the weapon leans to in its subs


_ABILITY_INDEX = {a: i for i, a in enumerate(ABILITIES)}
_N_MAIN_ONLY = len(MAIN_ONLY)
_PIECE_OPTIONS = [  # ability indices allowed on each piece's main
    np.array([_ABILITY_INDEX[a] for a in MAIN_ONLY if MAIN_ONLY_SLOT[a] == p]
             + [_ABILITY_INDEX[f] for f in STANDARD])
    for p in PIECES
]  # fmt: skip


def generate_builds(config: SynthConfig = SynthConfig()) -> BuildTable:
    """Seeded, deterministic legal full builds for all 130 weapons, with archetype labels."""
    rng = np.random.default_rng(config.seed)
    weapons = weapon_table()
    plans = [_plan_weapon(w, np.random.default_rng([config.seed, w.weapon_id])) for w in weapons]
    popularity = 1.0 / np.arange(1, len(weapons) + 1) ** config.zipf
    popularity = popularity[rng.permutation(len(weapons))]
    popularity /= popularity.sum()

    n_coverage = max(3 * len(STANDARD), round(config.coverage_frac * config.n_builds))
    n_regular = config.n_builds - n_coverage
    if n_regular < 0:
        raise ValueError(f"n_builds must be at least {n_coverage}")
    weapon_idx = rng.choice(len(weapons), size=config.n_builds, p=popularity)
    archetype = np.empty(config.n_builds, dtype=np.int16)
    slots = np.empty((config.n_builds, 12), dtype=np.int16)  # 3 mains, then 9 subs
    is_meta = np.zeros(config.n_builds, dtype=bool)

    for w in range(len(weapons)):
        rows = np.flatnonzero(weapon_idx[:n_regular] == w)
        plan = plans[w]
        picks = rng.choice(len(plan.archetypes), size=len(rows), p=plan.weights)
        for k, a in enumerate(plan.archetypes):
            group = rows[picks == k]
            archetype[group] = a
            slots[group], is_meta[group] = _sample_archetype(rng, ARCHETYPES[a], plan, len(group),
                                                             config)  # fmt: skip
    coverage = np.arange(n_regular, config.n_builds)
    archetype[coverage] = len(ARCHETYPES)
    slots[coverage] = _sample_coverage(rng, len(coverage))

    _cap_copies(rng, weapon_idx, slots, archetype, is_meta, plans, config)
    return _to_table(weapon_idx, slots, archetype)


def _plan_weapon(weapon, rng: np.random.Generator) -> WeaponPlan:
    pool = CLASS_POOLS[weapon.weapon_class]
    names = list(pool)
    prior = np.array([pool[n] for n in names], dtype=float)
    k = min(len(names), int(rng.integers(2, 5)))
    chosen = list(rng.choice(len(names), size=k, replace=False, p=prior / prior.sum()))
    chosen_names = [names[i] for i in chosen]
    weights = rng.dirichlet(np.full(k, 2.0)) * prior[chosen]
    if weapon.kit == 1:  # alternate kits lean to their sub/special archetypes
        if not any(n in KIT_SENSITIVE for n in chosen_names):
            extra = next((n for n in names if n in KIT_SENSITIVE), None) or KIT_SENSITIVE[0]
            chosen_names.append(extra)
            weights = np.append(weights, weights.mean())
        weights = weights * np.array([2.5 if n in KIT_SENSITIVE else 1.0 for n in chosen_names])
    index = {a.name: i for i, a in enumerate(ARCHETYPES)}
    signature = int(rng.integers(len(STANDARD)))
    return WeaponPlan([index[n] for n in chosen_names], weights / weights.sum(), signature)


def _weights(spec: dict[str, float], extra: dict[int, float] | None = None) -> np.ndarray:
    w = np.array([spec.get(f, 0.0) for f in STANDARD], dtype=float)
    for i, v in (extra or {}).items():
        w[i] += v
    return w / w.sum()


def _sample_template(rng, arch: Archetype, plan: WeaponPlan, n: int) -> np.ndarray:
    """Noise-free slots of an archetype: [n, 12] ability indices."""
    out = np.empty((n, 12), dtype=np.int16)
    main_p = _weights(arch.mains)
    for j, piece in enumerate(PIECES):
        out[:, j] = _N_MAIN_ONLY + rng.choice(len(STANDARD), size=n, p=main_p)
        if piece in arch.main_only:
            ability, prob = arch.main_only[piece]
            out[rng.random(n) < prob, j] = _ABILITY_INDEX[ability]
    sub_p = _weights(arch.subs, {plan.signature: 0.15 * sum(arch.subs.values())})
    out[:, 3:] = _N_MAIN_ONLY + rng.choice(len(STANDARD), size=(n, 9), p=sub_p)
    return out


def _sample_archetype(rng, arch, plan, n, config: SynthConfig):
    slots = _sample_template(rng, arch, plan, n)
    meta = rng.random(n) < config.meta_frac
    if meta.any():
        templates = _sample_template(rng, arch, plan, config.n_meta)
        slots[meta] = templates[rng.integers(config.n_meta, size=int(meta.sum()))]
    fresh = ~meta
    utility = fresh & (rng.random(n) < config.utility)
    util_idx = np.array([_N_MAIN_ONLY + STANDARD.index(u) for u in UTILITY])
    slots[utility, 3 + rng.integers(9, size=int(utility.sum()))] = rng.choice(
        util_idx, size=int(utility.sum())
    )
    _add_noise(rng, slots, fresh, config.noise)
    return slots, meta


def _add_noise(rng, slots: np.ndarray, rows: np.ndarray, noise: float) -> None:
    """Resample each slot of `rows` with probability `noise`, uniformly over what it may hold."""
    hit = (rng.random(slots.shape) < noise) & rows[:, None]
    for j in range(3):
        r = np.flatnonzero(hit[:, j])
        slots[r, j] = rng.choice(_PIECE_OPTIONS[j], size=len(r))
    r, c = np.nonzero(hit[:, 3:])
    slots[r, 3 + c] = _N_MAIN_ONLY + rng.integers(len(STANDARD), size=len(r))


def _sample_coverage(rng, n: int) -> np.ndarray:
    """Builds that max one family; families, levels and free-main abilities go round-robin."""
    levels = ((2, 6), (3, 7), (3, 9))  # 38, 51 and 57 AP
    out = np.empty((n, 12), dtype=np.int16)
    n_free = 0  # coverage builds so far with a free main
    for j in range(n):
        family = _N_MAIN_ONLY + j % len(STANDARD)
        n_main, n_sub = levels[(j // len(STANDARD)) % len(levels)]
        mains = [family] * 3
        if n_main == 2:  # the free main holds the next main-only ability, on its own piece
            ability = MAIN_ONLY[n_free % _N_MAIN_ONLY]
            mains[PIECES.index(MAIN_ONLY_SLOT[ability])] = _ABILITY_INDEX[ability]
            n_free += 1
        others = [f for f in range(_N_MAIN_ONLY, len(ABILITIES)) if f != family]
        out[j] = mains + [family] * n_sub + list(rng.choice(others, size=9 - n_sub))
    return out


def _cap_copies(rng, weapon_idx, slots, archetype, is_meta, plans, config) -> None:
    """Redraw copies beyond MAX_COPIES of one (weapon, tokens) as fresh, non-meta builds.

    Capping on tokens is stricter than the reference's cap on exact AP (many AP map to one
    token set), so the table never holds more than MAX_COPIES identical rows."""
    for _ in range(20):
        present = _presence(_ap_matrix(slots))
        _, inverse = np.unique(
            np.column_stack([weapon_idx, np.packbits(present, axis=1)]), axis=0, return_inverse=True
        )
        rank = _rank_within_group(inverse.ravel())
        excess = np.flatnonzero(rank >= MAX_COPIES)
        if len(excess) == 0:
            return
        for i in excess:
            arch = ARCHETYPES[archetype[i]] if archetype[i] < len(ARCHETYPES) else None
            if arch is None:
                continue
            row = _sample_template(rng, arch, plans[weapon_idx[i]], 1)
            _add_noise(rng, row, np.ones(1, dtype=bool), max(config.noise, 0.1))
            slots[i], is_meta[i] = row[0], False
    raise RuntimeError("could not cap repeated builds; lower meta_frac")


def _rank_within_group(groups: np.ndarray) -> np.ndarray:
    """0 for the first row of each group, 1 for the second, ... (in row order)."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(groups)) - first
    return rank


def _ap_matrix(slots: np.ndarray) -> np.ndarray:
    """[n, 26] AP per ability (main-only, then standard) from [n, 12] slot ability indices."""
    n = len(slots)
    ap = np.zeros((n, len(ABILITIES)), dtype=np.int16)
    rows = np.arange(n)
    for j in range(12):
        np.add.at(ap, (rows, slots[:, j]), MAIN_AP if j < 3 else SUB_AP)
    return ap


def _presence(ap: np.ndarray) -> np.ndarray:
    """bool [n, 138]: content tokens in canonical order (main-only names, family x rung)."""
    rungs = np.array(RUNGS)[None, None, :]
    stacked = ap[:, _N_MAIN_ONLY:, None] >= rungs
    return np.concatenate([ap[:, :_N_MAIN_ONLY] > 0, stacked.reshape(len(ap), -1)], axis=1)


def _to_table(weapon_idx, slots, archetype) -> BuildTable:
    present = _presence(_ap_matrix(slots))
    vocab = Vocab.canonical()
    ids = np.array(vocab.encode(content_tokens()), dtype=np.int32)
    rows, cols = np.nonzero(present)
    offsets = np.concatenate([[0], np.cumsum(present.sum(axis=1))])
    weapon_vocab = WeaponVocab.from_weapon_ids(w.weapon_id for w in weapon_table())
    return BuildTable(
        weapon_idx, offsets, ids[cols], vocab, weapon_vocab, archetype, list(ARCHETYPE_NAMES)
    )


def slot_abilities(slots_row: np.ndarray) -> list[str]:
    """Ability names of one [12] slot row (for debugging and tests)."""
    return [ABILITIES[i] for i in slots_row]


def write_synthetic_dataset(out_dir: str | Path, table: BuildTable) -> dict[str, Path]:
    """SplatNLP-format files (tokenized_data.csv, vocab.json, weapon_vocab.json) plus the
    planted ground truth as archetypes.parquet (row i = data line i + 2)."""
    paths = write_reference_dataset(out_dir, table)
    names = np.asarray(table.archetype_names, dtype=object)
    truth = pa.table(
        {
            "build_id": np.arange(len(table), dtype=np.int64),
            "weapon_id": table.weapon,
            "weapon": np.asarray(table.weapon_vocab.weapon_ids)[table.weapon],
            "archetype": pa.array(names[table.archetype]).dictionary_encode(),
        }
    )
    paths["archetypes"] = Path(out_dir) / "archetypes.parquet"
    with atomic_file(paths["archetypes"]) as tmp:
        pq.write_table(truth, tmp)
    return paths
