"""Examples beyond the top list: identical inputs grouped, the full builds that contain a
partial example, and samples where the feature does not fire (random and hard negatives)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import numpy as np

from splat_core.query.examples import Example, WeaponInfo
from splat_core.query.reader import Reader

MAX_SCAN = 100_000  # top entries grouped_examples reads at most, looking for k groups


@dataclass(frozen=True)
class ExampleGroup:
    rank: int  # rank of the group's first (highest) example
    count: int  # examples with this weapon and token set among those read
    sample_ids: list[int]  # highest first
    max_activation: float
    mean_activation: float
    weapon: WeaponInfo
    tokens: list[str]
    build_id: int  # the first example's build
    bin: int | None = None  # quantile groups only: the bin and its value range
    bin_lo: float | None = None
    bin_hi: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def group_examples(examples: list[Example]) -> list[ExampleGroup]:
    """Examples with the same weapon, token set (and bin) merged, in order of first one."""
    groups: dict[tuple, list[Example]] = {}
    for e in examples:
        groups.setdefault((e.bin, e.weapon.index, frozenset(e.tokens)), []).append(e)
    out = []
    for members in groups.values():
        e, acts = members[0], [m.activation for m in members]
        out.append(
            ExampleGroup(
                e.rank, len(members), [m.sample_id for m in members], max(acts),
                float(np.mean(acts)), e.weapon, e.tokens, e.build_id, e.bin, e.bin_lo, e.bin_hi,
            )
        )  # fmt: skip
    return out


def grouped_examples(reader: Reader, f: int, k: int = 20) -> list[ExampleGroup]:
    """The first k distinct inputs (weapon + tokens) in the feature's descending order, each
    with its count among the top entries read (until a (k+1)th input shows, up to MAX_SCAN)."""
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if k == 0:
        return []
    n = 4 * k
    while True:
        ids, values = reader.activations(f, limit=n)
        groups = group_examples(reader.samples.examples(ids, values, np.arange(1, len(ids) + 1)))
        if len(groups) > k or len(ids) < n or n >= MAX_SCAN:
            return groups[:k]
        n = min(2 * n, MAX_SCAN)


def grouped_quantile_examples(
    reader: Reader, f: int, n_bins: int = 10, per_bin: int = 5, seed: int = 0
) -> list[ExampleGroup]:
    """Reader.quantile_examples with identical inputs in a bin merged."""
    return group_examples(reader.quantile_examples(f, n_bins, per_bin, seed))


@dataclass(frozen=True)
class Build:
    build_id: int
    weapon: WeaponInfo
    tokens: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ContainingBuilds:
    sample_id: int
    tokens: list[str]  # the sample's (partial) input
    build: Build  # the full build the sample was drawn from
    others: list[Build] = field(default_factory=list)  # other builds holding every token
    n_others: int = 0  # how many there are on the weapon (others is the first `limit`)

    def to_dict(self) -> dict:
        return asdict(self)


def _build(reader: Reader, b: int) -> Build:
    t, idx = reader.builds, reader.samples
    ids = t.token_ids[t.offsets[b] : t.offsets[b + 1]]
    return Build(b, idx.weapons[int(t.weapon[b])], idx.token_names[ids].tolist())


def containing_builds(reader: Reader, sample_id: int, limit: int = 20) -> ContainingBuilds:
    """The full build of a sample, and the other builds on its weapon whose tokens include
    all of the sample's (the first `limit`, by build id)."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    s = reader.sample(sample_id)
    t, idx, own = reader.builds, reader.samples, s["build_id"]
    content = set(idx.vocab.content_ids())
    need = [i for i in idx.vocab.encode(s["tokens"]) if i in content]
    rows = np.repeat(np.arange(len(t), dtype=np.int64), np.diff(t.offsets))
    held = np.zeros(len(t), np.int64)
    for i in need:
        held[np.unique(rows[t.token_ids == i])] += 1
    hit = (t.weapon == idx.weapon[s["sample_id"]]) & (held == len(need))
    hit[own] = False
    others = np.flatnonzero(hit)
    return ContainingBuilds(
        s["sample_id"], s["tokens"], _build(reader, own),
        [_build(reader, int(b)) for b in others[:limit]], len(others),
    )  # fmt: skip


@dataclass(frozen=True)
class Negative:
    sample_id: int
    weapon: WeaponInfo
    tokens: list[str]
    build_id: int
    shared: int  # how many of the feature's top tokens the sample holds
    shared_tokens: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


class NonActivating(NamedTuple):
    """Samples where a feature is 0 (`non_activating`)."""

    top_tokens: list[str]
    """The feature's most enriched tokens among its top examples (feature_tokens)."""
    random: list[Negative]
    """Seeded random samples where it does not fire."""
    hard: list[Negative]
    """Samples holding the most top tokens where it does not fire (seeded order in ties)."""

    def to_dict(self) -> dict:
        return {
            "top_tokens": self.top_tokens,
            "random": [n.to_dict() for n in self.random],
            "hard": [n.to_dict() for n in self.hard],
        }


def top_tokens(reader: Reader, f: int, n: int) -> list[str]:
    """The feature's first n enhancer tokens (feature_tokens), ability tokens only."""
    content = set(reader.samples.vocab.content_ids())
    rows = sorted((r for r in reader.tokens(f) if r["kind"] == "enhancer"), key=lambda r: r["rank"])
    return [r["token"] for r in rows if r["token_id"] in content][:n]


def non_activating(
    reader: Reader, f: int, k: int = 20, seed: int = 0, n_tokens: int = 3
) -> NonActivating:
    """k random samples where feature f is 0, and k hard negatives: samples where it is 0
    holding the most of its `n_tokens` top tokens (at least one)."""
    if k < 0 or n_tokens < 0:
        raise ValueError(f"k and n_tokens must be >= 0, got {k}, {n_tokens}")
    idx, rng = reader.samples, np.random.default_rng(seed)
    fired, _ = reader.activations(f)
    quiet = np.ones(idx.n_samples, bool)
    quiet[fired] = False
    names = top_tokens(reader, f, n_tokens)
    top = np.asarray(idx.vocab.encode(names), dtype=idx.token_ids.dtype)
    pos = np.flatnonzero(np.isin(idx.token_ids, top))
    owner = np.searchsorted(idx.offsets, pos, side="right") - 1
    shared = np.bincount(owner, minlength=idx.n_samples)  # tokens are a set per sample

    def negatives(ids) -> list[Negative]:
        out = []
        for s in np.asarray(ids, dtype=np.int64).tolist():
            tokens = idx.tokens(s)
            out.append(
                Negative(
                    s, idx.weapons[int(idx.weapon[s])], tokens, int(idx.build_id[s]),
                    int(shared[s]), [t for t in tokens if t in names],
                )
            )  # fmt: skip
        return out

    pool = np.flatnonzero(quiet)
    random = rng.choice(pool, size=min(k, len(pool)), replace=False)
    hard = np.flatnonzero(quiet & (shared > 0))
    order = np.lexsort((rng.random(len(hard)), -shared[hard]))[:k]
    return NonActivating(names, negatives(random), negatives(hard[order]))
