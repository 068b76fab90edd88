"""BuildTable: full builds as a ragged token table, with their vocabularies."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from splat_core.atomic import atomic_file
from splat_core.domain.vocab import Vocab, WeaponVocab


@dataclass
class BuildTable:
    """One row per full build.

    Tokens are ragged: row i holds `token_ids[offsets[i]:offsets[i+1]]` (vocab ids).
    `archetype` (codes into `archetype_names`) is the planted ground truth of synthetic data.
    """

    weapon: np.ndarray  # int32 [n], dense index into weapon_vocab
    offsets: np.ndarray  # int64 [n + 1]
    token_ids: np.ndarray  # int32 [nnz]
    vocab: Vocab
    weapon_vocab: WeaponVocab
    archetype: np.ndarray | None = None  # int16 [n]
    archetype_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.weapon = np.asarray(self.weapon, dtype=np.int32)
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        self.token_ids = np.asarray(self.token_ids, dtype=np.int32)
        if self.offsets.shape != (len(self.weapon) + 1,):
            raise ValueError("offsets must have one entry more than there are builds")
        if self.offsets[0] != 0 or self.offsets[-1] != len(self.token_ids):
            raise ValueError("offsets must start at 0 and end at the number of tokens")
        if self.archetype is not None:
            self.archetype = np.asarray(self.archetype, dtype=np.int16)

    def __len__(self) -> int:
        return len(self.weapon)

    @classmethod
    def from_lists(
        cls,
        token_lists: list[list[int]],
        weapons: list[int] | np.ndarray,
        vocab: Vocab,
        weapon_vocab: WeaponVocab,
        **kw,
    ) -> BuildTable:
        lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        flat = np.fromiter(
            (i for t in token_lists for i in t), dtype=np.int32, count=int(offsets[-1])
        )
        return cls(np.asarray(weapons), offsets, flat, vocab, weapon_vocab, **kw)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def tokens(self, i: int) -> np.ndarray:
        return self.token_ids[self.offsets[i] : self.offsets[i + 1]]

    def token_lists(self) -> list[list[int]]:
        return [t.tolist() for t in np.split(self.token_ids, self.offsets[1:-1])]

    def multi_hot(self) -> np.ndarray:
        """bool [n, vocab_size]: which tokens each build holds."""
        out = np.zeros((len(self), len(self.vocab)), dtype=bool)
        rows = np.repeat(np.arange(len(self)), self.lengths)
        out[rows, self.token_ids] = True
        return out

    def subset(self, idx: np.ndarray) -> BuildTable:
        idx = np.asarray(idx, dtype=np.int64)
        starts, lengths = self.offsets[idx], self.lengths[idx]
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return BuildTable(
            self.weapon[idx],
            offsets,
            self.token_ids[gather],
            self.vocab,
            self.weapon_vocab,
            None if self.archetype is None else self.archetype[idx],
            list(self.archetype_names),
        )


def write_builds_parquet(table: BuildTable, path: str | Path) -> None:
    """`build_id, weapon_id, tokens[, archetype]` as Parquet (vocabularies are stored apart)."""
    columns = {
        "build_id": pa.array(np.arange(len(table), dtype=np.int64)),
        "weapon_id": pa.array(table.weapon),
        "tokens": pa.ListArray.from_arrays(
            pa.array(table.offsets.astype(np.int32)), pa.array(table.token_ids.astype(np.int16))
        ),
    }
    if table.archetype is not None:
        names = np.asarray(table.archetype_names, dtype=object)
        columns["archetype"] = pa.array(names[table.archetype]).dictionary_encode()
    with atomic_file(path) as tmp:
        pq.write_table(pa.table(columns), tmp)


def read_builds_parquet(path: str | Path, vocab: Vocab, weapon_vocab: WeaponVocab) -> BuildTable:
    t = pq.read_table(path)
    tokens = t.column("tokens").combine_chunks()
    offsets = tokens.offsets.to_numpy().astype(np.int64)
    archetype, names = None, []
    if "archetype" in t.column_names:
        codes = t.column("archetype").combine_chunks()
        if not pa.types.is_dictionary(codes.type):
            codes = codes.dictionary_encode()
        names = codes.dictionary.to_pylist()
        archetype = codes.indices.to_numpy()
    return BuildTable(
        t.column("weapon_id").to_numpy(),
        offsets - offsets[0],
        tokens.flatten().to_numpy().astype(np.int32),
        vocab,
        weapon_vocab,
        archetype,
        names,
    )
