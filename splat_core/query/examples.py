"""Per-sample metadata gathered by position, and the examples built from it."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from splat_core.builds.sample_meta import SampleMeta
from splat_core.builds.samples import SampleTable
from splat_core.domain.vocab import Vocab, WeaponVocab
from splat_core.domain.weapons import weapons_by_id
from splat_core.query.token_lists import PackedTokens


@dataclass(frozen=True)
class WeaponInfo:
    index: int  # dense index in the weapon vocabulary
    weapon_id: int  # reference-kit id
    name: str | None
    weapon_class: str | None
    sub: str | None
    special: str | None


def weapon_infos(weapon_vocab: WeaponVocab) -> list[WeaponInfo]:
    """WeaponInfo per dense index; names are None for ids the weapon table does not know."""
    known = weapons_by_id()
    out = []
    for i, wid in enumerate(weapon_vocab.weapon_ids):
        w = known.get(wid)
        out.append(
            WeaponInfo(i, wid, w.name, w.weapon_class, w.sub, w.special)
            if w
            else WeaponInfo(i, wid, None, None, None, None)
        )
    return out


@dataclass(frozen=True)
class Example:
    rank: int  # 1-based position in the feature's descending activation order
    sample_id: int
    activation: float
    weapon: WeaponInfo
    tokens: list[str]
    build_id: int
    bin: int | None = None  # quantile_examples only: bin index and its value range
    bin_lo: float | None = None
    bin_hi: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class SampleIndex:
    """Weapon, input tokens and build id per global sample id, held as flat arrays."""

    def __init__(self, shards: Sequence[SampleTable]):
        meta = SampleMeta.from_tables(sorted(shards, key=lambda s: s.sample_start))
        self.vocab: Vocab = meta.vocab
        self.weapon_vocab: WeaponVocab = meta.weapon_vocab
        self.weapon = meta.weapon
        self.build_id = meta.build_id
        self.offsets = meta.token_offsets
        self.token_ids = meta.token_ids
        self.token_names = np.array(
            [self.vocab.id_to_token[i] for i in range(len(self.vocab))], dtype=object
        )
        self.weapons = weapon_infos(self.weapon_vocab)

    @property
    def n_samples(self) -> int:
        return len(self.weapon)

    @functools.cached_property
    def weapon16(self) -> np.ndarray:
        """The weapon index as int16, the width of the activation list's weapon column."""
        return self.weapon.astype(np.int16)

    @functools.cached_property
    def packed_tokens(self) -> PackedTokens:
        return PackedTokens(self.offsets, self.token_ids, len(self.vocab))

    def token_lists(self) -> pa.ListArray:
        """Every sample's input token ids, in sample order (views of the flat arrays)."""
        wide = int(self.offsets[-1]) >= 2**31
        offsets = np.asarray(self.offsets, dtype=np.int64 if wide else np.int32)
        kind = pa.LargeListArray if wide else pa.ListArray
        return kind.from_arrays(pa.array(offsets), pa.array(self.token_ids))

    def tokens(self, sample_id: int) -> list[str]:
        a, b = self.offsets[sample_id], self.offsets[sample_id + 1]
        return self.token_names[self.token_ids[a:b]].tolist()

    def examples(
        self, sample_ids: np.ndarray, values: np.ndarray, ranks: np.ndarray, bins=None
    ) -> list[Example]:
        """Examples for these samples; `bins` = (bin index, lo, hi) arrays or None."""
        out = []
        rows = zip(sample_ids.tolist(), values.tolist(), ranks.tolist(), strict=True)
        for j, (s, v, r) in enumerate(rows):
            extra = {}
            if bins is not None:
                extra = {
                    "bin": int(bins[0][j]),
                    "bin_lo": float(bins[1][j]),
                    "bin_hi": float(bins[2][j]),
                }
            out.append(
                Example(
                    int(r),
                    int(s),
                    float(v),
                    self.weapons[int(self.weapon[s])],
                    self.tokens(s),
                    int(self.build_id[s]),
                    **extra,
                )
            )
        return out


class QuantilePicks(NamedTuple):
    """Entries picked across a feature's activation range (`quantile_pick`)."""

    positions: np.ndarray
    """int64, into the descending values: bins low to high, descending within a bin."""
    bins: np.ndarray
    """Each pick's quantile bin (0 = lowest)."""
    lo: np.ndarray
    """Each pick's bin's lower edge."""
    hi: np.ndarray
    """Each pick's bin's upper edge."""


def quantile_pick(values: np.ndarray, n_bins: int, per_bin: int, seed: int) -> QuantilePicks:
    """Up to `per_bin` seeded random entries per quantile bin of the descending `values`."""
    if n_bins < 1 or per_bin < 0:
        raise ValueError(f"n_bins must be >= 1 and per_bin >= 0, got {n_bins}, {per_bin}")
    empty = np.zeros(0, np.int64)
    if len(values) == 0:
        return QuantilePicks(empty, empty, np.zeros(0), np.zeros(0))
    edges = np.quantile(values.astype(np.float64), np.linspace(0.0, 1.0, n_bins + 1))
    bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, n_bins - 1)
    # values descend, so each bin is one contiguous run of positions
    counts = np.bincount(bins, minlength=n_bins)
    ends = len(values) - np.concatenate([[0], np.cumsum(counts)])  # end of bin b = ends[b]
    rng = np.random.default_rng(seed)
    picked, which = [], []
    for b in range(n_bins):
        lo, n = int(ends[b + 1]), int(counts[b])
        take = np.arange(n) if n <= per_bin else np.sort(rng.choice(n, size=per_bin, replace=False))
        picked.append(lo + take)
        which.append(np.full(len(take), b))
    pos, which = np.concatenate(picked).astype(np.int64), np.concatenate(which)
    return QuantilePicks(pos, which, edges[which], edges[which + 1])
