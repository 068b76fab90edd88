"""Steering: edit features in the SAE's reconstruction of a build's pooled vector, re-run
the model's output layer, and report what the model would now predict.

The steered vector is x + D (h' - h) + Σ α_f d_f: x the pooled vector, h its SAE
activations, h' the edited ones, D the decoder's unit directions. That is the edited
reconstruction plus the SAE's reconstruction error (x - decode(h)), so an empty edit gives
back x itself and the model's own probabilities exactly. The `direct` op adds α·d_f to the
raw pooled vector, outside the SAE. The completed build is the output tokens with
probability above 0.5 that are not in the input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from splat_core.investigate import names
from splat_core.investigate.groups import num
from splat_core.investigate.interventions import pick_examples
from splat_core.investigate.population import feature

OPS = ("clamp", "scale", "add", "direct")
THRESHOLD = 0.5  # the completion threshold (as the held-out metrics')


@dataclass(frozen=True)
class FeatureEdit:
    feature: int
    op: str  # clamp (to value) | scale (by value) | add (value) | direct (value·d_f to x)
    value: float

    def __post_init__(self):
        if self.op not in OPS:
            raise ValueError(f"op must be one of {', '.join(OPS)}, got {self.op!r}")
        if not np.isfinite(self.value):
            raise ValueError(f"{self.op} value must be finite, got {self.value!r}")

    def __str__(self) -> str:
        return f"{self.op} {self.feature} {self.value:g}"


def _check(reader, edits) -> list[FeatureEdit]:
    edits = list(edits)
    for e in edits:
        feature(reader, e.feature)  # an unknown feature fails here
    return edits


class Steered(NamedTuple):
    """A batch before and after the edits (`steered_probs`)."""

    before: np.ndarray
    """[B, content tokens] the model's own probabilities."""
    after: np.ndarray
    """[B, content tokens] the probabilities from the steered vector."""
    acts: np.ndarray
    """[B, F] the SAE's activations."""
    acts_after: np.ndarray
    """[B, F] the edited activations (a `direct` edit leaves them as they were)."""


@torch.inference_mode()
def steered_probs(encoder, rows, edits) -> Steered:
    """(weapon index, tokens) rows through the model and the SAE, edited."""
    out = encoder.forward(rows)
    sae, model = encoder.sae, encoder.model
    dev = next(sae.parameters()).device
    x = torch.from_numpy(out.pooled).to(dev)
    h = torch.from_numpy(out.acts).to(dev)
    h2 = h.clone()
    step = torch.zeros_like(x)
    dirs = sae.decoder_directions()
    for e in edits:
        if e.op == "clamp":
            h2[:, e.feature] = e.value
        elif e.op == "scale":
            h2[:, e.feature] *= e.value
        elif e.op == "add":
            h2[:, e.feature] += e.value
        else:
            step += e.value * dirs[:, e.feature]
    x2 = x + (h2 - h) @ dirs.T + step
    if not torch.isfinite(x2).all():
        raise ValueError("the edit's values overflow the steered vector: use smaller ones")
    mdev = next(model.parameters()).device
    after = torch.sigmoid(model.output_layer(x2.to(mdev)))[:, encoder.content_ids]
    return Steered(out.probs, after.float().cpu().numpy(), out.acts, h2.float().cpu().numpy())


def _completion(tokens, probs, content) -> list[str]:
    held = set(tokens)
    return [t for t, p in zip(content, probs, strict=True) if p > THRESHOLD and t not in held]


def steer(reader, weapon_id, abilities: dict, edits) -> dict:
    """One build (weapon + ability AP) steered: every output token's probability
    before/after, ranked by |delta|, and the completed build before/after."""
    abilities = {names.ability(a): int(v) for a, v in abilities.items()}
    tokens = reader.encoder.tokens(abilities)
    return {"abilities": abilities, **steer_tokens(reader, weapon_id, tokens, edits)}


def steer_tokens(reader, weapon_id, tokens: list[str], edits) -> dict:
    """As `steer`, on exactly these input tokens (a stored partial build)."""
    enc = reader.encoder
    edits = _check(reader, edits)
    weapon_id = names.weapon(enc.weapon_vocab, weapon_id)
    tokens = list(tokens)
    rows = [(enc.weapon_index(weapon_id), tokens)]
    before, after, base, acts = steered_probs(enc, rows, edits)
    b, a = before[0], after[0]
    d = a - b
    order = np.lexsort((np.arange(len(d)), -np.abs(d)))
    cb = _completion(tokens, b, enc.content_names)
    ca = _completion(tokens, a, enc.content_names)
    return {
        "weapon_id": weapon_id,
        "tokens": tokens,
        "edits": [str(e) for e in edits],
        "features": [
            {"feature_id": f, "before": float(base[0, f]), "after": float(acts[0, f])}
            for f in dict.fromkeys(e.feature for e in edits)
        ],
        "changes": [
            {
                "token": enc.content_names[j],
                "before": float(b[j]),
                "after": float(a[j]),
                "delta": float(d[j]),
            }
            for j in order
        ],
        "completion_before": cb,
        "completion_after": ca,
        "added": [t for t in ca if t not in cb],
        "removed": [t for t in cb if t not in ca],
    }


def steer_examples(reader, f, edits, source: str = "top", n: int = 50, seed: int = 0) -> dict:
    """The edits on each of feature f's top (or core) examples: per token mean delta with
    its standard error, and how many completed builds changed."""
    f = feature(reader, f)
    edits = _check(reader, edits)
    enc = reader.encoder
    examples = pick_examples(reader, f, n, source, seed)
    rows = [(enc.weapon_index(e.weapon.weapon_id), list(e.tokens)) for e in examples]
    k = len(rows)
    if k:
        before, after, _, _ = steered_probs(enc, rows, edits)
    else:
        before = after = np.zeros((0, len(enc.content_names)), dtype=np.float32)
    d = (after - before).astype(np.float64)
    mean = d.mean(axis=0) if k else np.zeros(d.shape[1])
    se = d.std(axis=0, ddof=1) / np.sqrt(k) if k > 1 else np.full(d.shape[1], np.nan)
    changed = added = removed = 0
    for (_, toks), b, a in zip(rows, before, after, strict=True):
        cb = set(_completion(toks, b, enc.content_names))
        ca = set(_completion(toks, a, enc.content_names))
        changed += cb != ca
        added += len(ca - cb)
        removed += len(cb - ca)
    order = np.lexsort((np.arange(len(mean)), -np.abs(mean)))
    return {
        "feature_id": f,
        "source": source,
        "edits": [str(e) for e in edits],
        "n_examples": k,
        "changes": [
            {
                "token": enc.content_names[j],
                "mean_before": num(before[:, j].mean()) if k else None,
                "mean_after": num(after[:, j].mean()) if k else None,
                "mean_delta": num(mean[j]) if k else None,
                "stderr": num(se[j]),
                "n": k,
            }
            for j in order
        ],
        "n_completion_changed": int(changed),
        "n_tokens_added": int(added),
        "n_tokens_removed": int(removed),
    }
