"""Per-sample metadata (weapon, input tokens) indexed by global sample id.

Analyses look samples up by position (a feature's top sample ids index these arrays
directly), never by a join over all samples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from splat_core.builds.samples import SampleTable
from splat_core.domain.vocab import Vocab, WeaponVocab


@dataclass
class SampleMeta:
    weapon: np.ndarray  # int32 [N], dense weapon index
    token_offsets: np.ndarray  # int64 [N + 1]
    token_ids: np.ndarray  # int32 [total tokens]
    vocab: Vocab
    weapon_vocab: WeaponVocab
    build_id: np.ndarray | None = None  # int64 [N], the build each sample comes from

    def __post_init__(self) -> None:
        self.weapon = np.asarray(self.weapon, dtype=np.int32)
        self.token_offsets = np.asarray(self.token_offsets, dtype=np.int64)
        self.token_ids = np.asarray(self.token_ids, dtype=np.int32)
        if self.token_offsets.shape != (len(self.weapon) + 1,):
            raise ValueError("token_offsets must have one entry more than there are samples")
        if self.token_offsets[0] != 0 or self.token_offsets[-1] != len(self.token_ids):
            raise ValueError("token_offsets must start at 0 and end at the number of tokens")

    @property
    def n_samples(self) -> int:
        return len(self.weapon)

    def tokens(self, sample_id: int) -> np.ndarray:
        return self.token_ids[self.token_offsets[sample_id] : self.token_offsets[sample_id + 1]]

    def gather_tokens(self, sample_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in `sample_ids`, token id) of every input token of those samples."""
        ids = np.asarray(sample_ids, dtype=np.int64)
        starts = self.token_offsets[ids]
        lengths = self.token_offsets[ids + 1] - starts
        pos = np.repeat(np.arange(len(ids)), lengths)
        # flat index = start of the sample + offset within it
        within = np.arange(len(pos)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return pos, self.token_ids[np.repeat(starts, lengths) + within]

    @classmethod
    def from_tables(cls, tables: Sequence[SampleTable]) -> SampleMeta:
        """Concatenate sample shards; their ids must together be exactly 0..N-1."""
        if not tables:
            raise ValueError("no sample tables given")
        vocab, weapon_vocab = tables[0].inputs.vocab, tables[0].inputs.weapon_vocab
        for t in tables[1:]:
            if t.inputs.vocab.token_to_id != vocab.token_to_id:
                raise ValueError("sample shards use different token vocabularies")
            if t.inputs.weapon_vocab.key_to_index != weapon_vocab.key_to_index:
                raise ValueError("sample shards use different weapon vocabularies")
        ids = np.concatenate([np.asarray(t.sample_id, dtype=np.int64) for t in tables])
        build = np.concatenate([np.asarray(t.build_id, dtype=np.int64) for t in tables])
        weapon = np.concatenate([t.inputs.weapon for t in tables])
        lengths = np.concatenate([t.inputs.lengths for t in tables])
        flat = np.concatenate([t.inputs.token_ids for t in tables])
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        order = np.argsort(ids, kind="stable")
        if not np.array_equal(ids[order], np.arange(len(ids))):
            raise ValueError(
                f"sample ids are not the contiguous range 0..{len(ids) - 1} "
                "(missing, duplicated or extra shards?)"
            )
        meta = cls(weapon, offsets, flat, vocab, weapon_vocab, build)
        if np.array_equal(order, np.arange(len(ids))):
            return meta
        # shards (or rows) out of order: reorder the ragged tokens by gathering
        pos, toks = meta.gather_tokens(order)
        del pos
        new_offsets = np.concatenate([[0], np.cumsum(lengths[order])])
        return cls(weapon[order], new_offsets, toks, vocab, weapon_vocab, build[order])
