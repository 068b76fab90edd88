"""Architectures by name: a saved sae_config.json's "arch" picks the class to rebuild."""

from __future__ import annotations

import torch

from splat_core.sae.base import SparseAutoencoder
from splat_core.sae.config import SAEConfig
from splat_core.sae.relu import ReluSAE
from splat_core.sae.topk import TopKSAE

ARCHITECTURES: dict[str, type[SparseAutoencoder]] = {"relu": ReluSAE, "topk": TopKSAE}


def build_sae(config: SAEConfig, generator: torch.Generator | None = None) -> SparseAutoencoder:
    """A freshly initialised SAE for a resolved config (input_dim and n_features set)."""
    if config.input_dim < 1:
        raise ValueError("sae input_dim is unset; call config.resolved(d) first")
    if config.arch == "relu":
        return ReluSAE(config.input_dim, config.n_features, generator)
    if config.arch == "topk":
        return TopKSAE(config.input_dim, config.n_features, config.k, generator)
    raise ValueError(f"unknown sae arch {config.arch!r}; known: {', '.join(ARCHITECTURES)}")


def arch_fields(sae: SparseAutoencoder) -> dict:
    """The config fields that a module's shape and arch fix (k only for topk)."""
    fields = {"arch": sae.arch, "input_dim": sae.input_dim, "n_features": sae.n_features,
              "expansion_factor": 0.0}  # fmt: skip
    if isinstance(sae, TopKSAE):
        fields["k"] = sae.k
    return fields
