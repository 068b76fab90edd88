"""Encoding a custom build (weapon + ability AP) with the model and the SAE, and what-if
deltas of single edits, all variants in one batched forward pass."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import numpy as np
import torch

from splat_core.domain.tokenizer import ap_to_tokens, check_ap
from splat_core.domain.vocab import MAIN_AP, MAIN_ONLY, NULL, RUNGS, STANDARD, Vocab, WeaponVocab


@dataclass
class Encoding:
    weapon_id: int
    weapon_index: int
    tokens: list[str]  # the model's input (["<NULL>"] for an empty build)
    probabilities: dict[str, float]  # sigmoid(logit) per content token, vocab order
    pooled: np.ndarray  # float32 [d]
    activations: np.ndarray  # float32 [F], dense
    features: list[tuple[int, float]]  # nonzero activations, highest first (ties by id)

    def top_predictions(self, n: int = 10) -> list[tuple[str, float]]:
        return sorted(self.probabilities.items(), key=lambda kv: -kv[1])[:n]

    def to_dict(self) -> dict:
        return {
            "weapon_id": self.weapon_id,
            "weapon_index": self.weapon_index,
            "tokens": self.tokens,
            "probabilities": self.probabilities,
            "features": [{"feature_id": f, "activation": v} for f, v in self.features],
        }


@dataclass
class Variant:
    kind: str  # "add" (a token), "remove" (an ability), "weapon" (a swap)
    change: str  # the token added, the ability removed, or the new weapon id (as text)
    weapon_id: int
    abilities: dict[str, int]
    tokens: list[str]
    feature_activation: float | None  # of the chosen feature, None without one
    feature_delta: float | None
    prediction_changes: list[tuple[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class WhatIf:
    base: Encoding
    feature: int | None
    variants: list[Variant]

    def to_dict(self) -> dict:
        return {
            "base": self.base.to_dict(),
            "feature": self.feature,
            "variants": [v.to_dict() for v in self.variants],
        }


class EncoderOutput(NamedTuple):
    """A batch through the model and the SAE (`Encoder.forward`)."""

    probs: np.ndarray
    """[B, content tokens] the model's output probabilities."""
    pooled: np.ndarray
    """[B, d] the pooled vectors (the SAE's input)."""
    acts: np.ndarray
    """[B, F] the SAE's feature activations."""


class Encoder:
    """The model and the SAE, loaded once, on the CPU, in eval mode."""

    def __init__(self, model, sae, vocab: Vocab, weapon_vocab: WeaponVocab):
        self.model, self.sae = model.eval(), sae.eval()
        self.vocab, self.weapon_vocab = vocab, weapon_vocab
        self.content_ids = np.asarray(vocab.content_ids(), dtype=np.int64)
        self.content_names = [vocab.id_to_token[i] for i in self.content_ids.tolist()]

    # --- inputs ---------------------------------------------------------------------------
    def weapon_index(self, weapon_id) -> int:
        if isinstance(weapon_id, bool) or not isinstance(weapon_id, numbers.Integral):
            raise KeyError(f"weapon id must be an integer, got {weapon_id!r}")
        return self.weapon_vocab.index_of(int(weapon_id))

    def tokens(self, abilities: Mapping[str, int]) -> list[str]:
        if not isinstance(abilities, Mapping):
            raise ValueError(f"abilities must be a mapping ability -> AP, got {abilities!r}")
        tokens = ap_to_tokens(abilities) or [NULL]
        missing = [t for t in tokens if t not in self.vocab.token_to_id]
        if missing:
            raise KeyError(f"tokens {missing} are not in the model's vocabulary")
        return tokens

    # --- the batched forward pass -----------------------------------------------------------
    @torch.inference_mode()
    def forward(self, rows: list[tuple[int, list[str]]]) -> EncoderOutput:
        """The model and SAE on (weapon index, tokens) rows, padded into one batch."""
        width = max(len(t) for _, t in rows)
        ids = np.full((len(rows), width), self.vocab.pad_id, dtype=np.int64)
        for i, (_, toks) in enumerate(rows):
            ids[i, : len(toks)] = self.vocab.encode(toks)
        weapons = torch.tensor([[w] for w, _ in rows], dtype=torch.long)
        device = next(self.model.parameters()).device
        pooled = self.model.pooled(torch.from_numpy(ids).to(device), weapons.to(device))
        probs = torch.sigmoid(self.model.output_layer(pooled))[:, self.content_ids]
        acts = self.sae.encode(pooled.to(next(self.sae.parameters()).device))
        return EncoderOutput(
            probs.float().cpu().numpy(), pooled.float().cpu().numpy(), acts.float().cpu().numpy()
        )

    def encode(self, weapon_id: int, abilities: Mapping[str, int]) -> Encoding:
        w, tokens = self.weapon_index(weapon_id), self.tokens(abilities)
        probs, pooled, acts = self.forward([(w, tokens)])
        return self._encoding(int(weapon_id), w, tokens, probs[0], pooled[0], acts[0])

    def _encoding(self, weapon_id, w, tokens, probs, pooled, acts) -> Encoding:
        nz = np.flatnonzero(acts)
        nz = nz[np.lexsort((nz, -acts[nz]))]
        return Encoding(
            weapon_id,
            w,
            tokens,
            dict(zip(self.content_names, probs.tolist(), strict=True)),
            pooled,
            acts,
            [(int(f), float(acts[f])) for f in nz],
        )

    def whatif(
        self,
        weapon_id: int,
        abilities: Mapping[str, int],
        feature: int | None = None,
        top_changes: int = 5,
    ) -> WhatIf:
        """Each single edit of the build: add the next rung of a family (or an absent
        main-only ability), remove a present ability, or swap the weapon. With `feature`,
        variants are ordered by the size of that feature's change."""
        w, tokens = self.weapon_index(weapon_id), self.tokens(abilities)
        abilities = {a: int(v) for a, v in abilities.items() if v}
        if feature is not None and not 0 <= feature < self.sae.n_features:
            raise KeyError(f"feature {feature} out of range [0, {self.sae.n_features})")
        edits = _edits(abilities, int(weapon_id), self.weapon_vocab.weapon_ids)
        rows = [(w, tokens)] + [
            (self.weapon_vocab.index_of(wid), self.tokens(ap)) for _, _, wid, ap in edits
        ]
        probs, pooled, acts = self.forward(rows)
        base = self._encoding(int(weapon_id), w, tokens, probs[0], pooled[0], acts[0])
        variants = []
        for i, (kind, change, wid, ap) in enumerate(edits, start=1):
            delta = probs[i] - probs[0]
            order = np.lexsort((np.arange(len(delta)), -np.abs(delta)))[:top_changes]
            changes = [(self.content_names[j], float(delta[j])) for j in order]
            act = None if feature is None else float(acts[i, feature])
            diff = None if feature is None else float(acts[i, feature] - acts[0, feature])
            variants.append(Variant(kind, change, wid, ap, rows[i][1], act, diff, changes))
        if feature is not None:
            variants.sort(key=lambda v: -abs(v.feature_delta))
        return WhatIf(base, feature, variants)


def _edits(abilities: dict[str, int], weapon_id: int, weapon_ids: list[int]) -> list[tuple]:
    """(kind, change, weapon id, abilities) of every legal single edit."""
    out = []
    for ability in MAIN_ONLY:
        if ability not in abilities:
            _add_if_legal(out, abilities, ability, MAIN_AP, ability, weapon_id)
    for family in STANDARD:
        held = abilities.get(family, 0)
        nxt = next((r for r in RUNGS if r > held), None)
        if nxt is not None:
            _add_if_legal(out, abilities, family, nxt, f"{family}_{nxt}", weapon_id)
    for ability in abilities:
        rest = {a: v for a, v in abilities.items() if a != ability}
        out.append(("remove", ability, weapon_id, rest))
    out.extend(("weapon", str(wid), wid, dict(abilities)) for wid in weapon_ids if wid != weapon_id)
    return out


def _add_if_legal(out, abilities, ability, value, token, weapon_id) -> None:
    ap = {**abilities, ability: value}
    try:
        check_ap(ap)
    except ValueError:
        return  # over 57 AP, or a second main-only ability on the same gear piece
    out.append(("add", token, weapon_id, ap))
