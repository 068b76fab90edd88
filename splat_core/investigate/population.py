"""The population investigations average over, built once per samples version.

The feature store keeps only nonzero activations, but the number of samples is known, so a
feature's dense vector over *all* samples (zeros filled in) is exact. Each sample also gets
the highest rung it holds of every ability (not the first or last token in list order: the
samples are partial builds, so a rung can be present while a lower one is missing).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from splat_core.domain.vocab import ABILITIES, MAIN_AP, Vocab, token_info
from splat_core.investigate.names import ABILITY_INDEX
from splat_core.query.examples import WeaponInfo

ALL = "all"  # every sample, zeros included
FIRING = "firing"  # only the samples where the feature is nonzero
POPULATIONS = (ALL, FIRING)
UNKNOWN = "unknown"


def describe(population: str, n: int) -> str:
    if population == ALL:
        return f"all {n:,} samples (activation 0 where the feature does not fire)"
    return f"the {n:,} samples where the feature fires (activation > 0)"


@dataclass
class Population:
    n: int
    weapon: np.ndarray  # int32 [N] dense weapon index
    pos: np.ndarray  # int64 [T] sample of each input token
    token: np.ndarray  # int32 [T] token id
    ability: np.ndarray  # int16 [T] index into ABILITIES, -1 for <NULL>
    top: np.ndarray  # int16 [N, 26] highest rung held per ability (main-only: 10), 0 = none
    vocab: Vocab
    weapons: list[WeaponInfo]

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(sample, ability) once per ability a sample holds (families collapsed)."""
        s, a = np.nonzero(self.top)
        return s.astype(np.int64), a

    def weapon_groups(self, kind: str) -> tuple[np.ndarray, list[str]]:
        """(group code per sample, label per code) for kind weapon|class|sub|special|kit."""
        labels = [_weapon_label(w, kind) for w in self.weapons]
        keys = sorted(set(labels))
        code = np.array([keys.index(x) for x in labels], dtype=np.int64)
        return code[self.weapon], keys


def _weapon_label(w: WeaponInfo, kind: str) -> str:
    if kind == "weapon":
        return str(w.weapon_id)
    if kind == "class":
        return w.weapon_class or UNKNOWN
    if kind == "kit":
        return f"{w.sub or UNKNOWN} + {w.special or UNKNOWN}"
    return getattr(w, kind) or UNKNOWN


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def population(reader) -> Population:
    """The reader's samples as flat arrays, cached per (reader, samples version)."""
    stamp = tuple(sorted((k, v) for k, v in reader.versions.items() if k.startswith("samples")))
    hit = _CACHE.get(reader)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    value = _build(reader.samples)
    _CACHE[reader] = (stamp, value)
    return value


def _build(idx) -> Population:
    n = idx.n_samples
    pos = np.repeat(np.arange(n, dtype=np.int64), np.diff(idx.offsets))
    token = np.asarray(idx.token_ids, dtype=np.int32)
    by_id_ability = np.full(len(idx.vocab), -1, dtype=np.int16)
    by_id_rung = np.zeros(len(idx.vocab), dtype=np.int16)
    for t, i in idx.vocab.token_to_id.items():
        try:
            info = token_info(t)
        except KeyError:  # <NULL>, <PAD>
            continue
        by_id_ability[i] = ABILITY_INDEX[info.ability]
        by_id_rung[i] = MAIN_AP if info.main_only else info.rung
    ability, rung = by_id_ability[token], by_id_rung[token]
    top = np.zeros((n, len(ABILITIES)), dtype=np.int16)
    keep = ability >= 0
    np.maximum.at(top, (pos[keep], ability[keep]), rung[keep])  # the highest, whatever the order
    weapon = np.asarray(idx.weapon, dtype=np.int32)
    return Population(n, weapon, pos, token, ability, top, idx.vocab, list(idx.weapons))


def feature(reader, f) -> int:
    """f as an int, or the reader's UnknownFeatureError."""
    reader.activations(f, limit=0)
    return int(f)


def dense(reader, f: int) -> np.ndarray:
    """float64 [N]: feature f's activation on every sample (0 where it does not fire)."""
    ids, values = reader.activations(f)
    out = np.zeros(reader.n_samples, dtype=np.float64)
    out[ids] = values
    return out


def select(a: np.ndarray, population: str) -> np.ndarray:
    """Boolean mask of the samples in `population`."""
    if population not in POPULATIONS:
        raise ValueError(f"population must be one of {POPULATIONS}, got {population!r}")
    return np.ones(len(a), dtype=bool) if population == ALL else a > 0


def check_quantile(q: float, name: str = "high_quantile") -> float:
    """Quantile levels are fractions: 0.9 is the 90th percentile (the reference passed 90)."""
    q = float(q)
    if not 0 < q < 1:
        hint = f" (did you mean {q / 100:g}?)" if 1 < q < 100 else ""
        raise ValueError(
            f"{name} is a fraction in (0, 1), e.g. 0.9 = the 90th percentile; got {q:g}{hint}"
        )
    return q


def high_threshold(a: np.ndarray, q: float) -> float | None:
    """np.quantile of the nonzero activations at level q (None if the feature never fires)."""
    nz = a[a > 0]
    return float(np.quantile(nz, check_quantile(q))) if len(nz) else None
