"""Every sample's input as the rule language sees it, and rules evaluated over it.

Per sample: the AP of the highest rung held of each family (0: none), a bit per main-only
ability, and the weapon's kit codes. 1M samples take about 25 MB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from splat_core.builds.sample_meta import SampleMeta
from splat_core.domain.vocab import MAIN_ONLY, RUNGS, STANDARD, is_content_token, token_info
from splat_core.domain.weapons import weapons_by_id
from splat_core.explain.rules import KIT_KINDS, Absent, AtLeast, Condition, Has, Kit, Rule

_KIT_ATTR = {"class": "weapon_class", "sub": "sub", "special": "special"}


@dataclass
class InputTable:
    top_ap: np.ndarray  # uint8 [len(STANDARD), N]: highest rung held per family, 0 if none
    # (family-major: a condition reads one contiguous row)
    main_only: np.ndarray  # uint16 [N]: bit i = MAIN_ONLY[i] present
    weapon: np.ndarray  # int32 [N]: dense weapon index
    kit_keys: dict[str, list[str]]  # kind -> canonical value of each dense weapon index

    @property
    def n_samples(self) -> int:
        return len(self.weapon)

    @classmethod
    def from_meta(cls, meta: SampleMeta) -> InputTable:
        n = meta.n_samples
        id_to_token = {i: t for t, i in meta.vocab.token_to_id.items()}
        family = np.full(len(id_to_token), -1, np.int64)
        ap = np.zeros(len(id_to_token), np.uint8)
        bit = np.zeros(len(id_to_token), np.uint16)
        for i, t in id_to_token.items():
            if not is_content_token(t):
                continue
            info = token_info(t)
            if info.main_only:
                bit[i] = 1 << MAIN_ONLY.index(info.ability)
            else:
                family[i], ap[i] = STANDARD.index(info.ability), info.rung
        row = np.repeat(np.arange(n, dtype=np.int64), np.diff(meta.token_offsets))
        tok = meta.token_ids
        top = np.zeros(n * len(STANDARD), np.uint8)
        held = family[tok] >= 0
        np.maximum.at(top, row[held] * len(STANDARD) + family[tok][held], ap[tok][held])
        mains = np.zeros(n, np.uint16)
        np.bitwise_or.at(mains, row, bit[tok])
        info = weapons_by_id()
        ids = [int(w) for w in meta.weapon_vocab.weapon_ids]
        keys = {"weapon": [str(w) for w in ids]}
        for kind, attr in _KIT_ATTR.items():
            keys[kind] = [getattr(info[w], attr) if w in info else "" for w in ids]
        return cls(np.ascontiguousarray(top.reshape(n, len(STANDARD)).T), mains, meta.weapon, keys)

    def take(self, rows: np.ndarray) -> InputTable:
        """The table of those rows only (contiguous: fast to evaluate again and again)."""
        return InputTable(self.top_ap[:, rows], self.main_only[rows], self.weapon[rows],
                          self.kit_keys)  # fmt: skip

    def kit_code(self, kind: str, values) -> np.ndarray:
        """bool [n weapons]: which dense weapon indices have one of `values`."""
        wanted = set(values)
        return np.array([k in wanted for k in self.kit_keys[kind]], dtype=bool)

    def condition(self, c: Condition, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """bool per row: does the condition hold."""
        if isinstance(c, AtLeast):
            return self.top_ap[STANDARD.index(c.ability), rows] >= c.ap
        if isinstance(c, Has | Absent) and c.ability in MAIN_ONLY:
            present = (self.main_only[rows] >> MAIN_ONLY.index(c.ability)) & 1 == 1
            return present if isinstance(c, Has) else ~present
        if isinstance(c, Absent):
            return self.top_ap[STANDARD.index(c.ability), rows] == 0
        if isinstance(c, Kit):
            return self.kit_code(c.kind, c.values)[self.weapon[rows]]
        raise TypeError(f"not a condition: {c!r}")

    def term(self, term, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        out = self.condition(term[0], rows)
        for c in term[1:]:
            out &= self.condition(c, rows)
        return out

    def evaluate(self, rule: Rule, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """bool per row: does the rule hold."""
        out = self.term(rule.terms[0], rows)
        for t in rule.terms[1:]:
            out |= self.term(t, rows)
        return out

    def margin(self, rule: Rule, rows: np.ndarray) -> np.ndarray:
        """How far each row is inside the rule: over the terms it satisfies, the most AP
        held above the terms' thresholds (0 for terms without an AP condition); -1 where the
        rule does not hold."""
        best = np.full(len(rows), -1, np.int64)
        for t in rule.terms:
            ok = self.term(t, rows)
            extra = np.zeros(len(rows), np.int64)
            for c in t:
                if isinstance(c, AtLeast):
                    extra += self.top_ap[STANDARD.index(c.ability), rows].astype(np.int64) - c.ap
            best = np.where(ok, np.maximum(best, extra), best)
        return best


def condition_vocabulary(table: InputTable) -> list[Condition]:
    """Every single condition the search tries: each family at each rung and absent, each
    main-only ability present and absent, each weapon, class, sub and special present in
    the samples."""
    out: list[Condition] = []
    for f in STANDARD:
        out += [AtLeast(f, r) for r in RUNGS]
        out.append(Absent(f))
    for m in MAIN_ONLY:
        out += [Has(m), Absent(m)]
    used = np.unique(table.weapon)
    for kind in KIT_KINDS:
        values = sorted({table.kit_keys[kind][w] for w in used} - {""})
        out += [Kit(kind, (v,)) for v in values]
    return out
