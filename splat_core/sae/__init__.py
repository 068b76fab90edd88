"""Sparse autoencoders on the model's pooled vector: architectures, training, metrics,
sparse encoding and checkpoints (ours and SplatNLP's)."""

from splat_core.sae.base import SparseAutoencoder
from splat_core.sae.config import SAEConfig
from splat_core.sae.csr import encode_csr
from splat_core.sae.io import (
    fingerprint,
    load_sae,
    read_metrics,
    read_sae_config,
    save_sae,
    save_sae_files,
)
from splat_core.sae.metrics import evaluate_sae, loss_recovered
from splat_core.sae.registry import ARCHITECTURES, build_sae
from splat_core.sae.relu import ReluSAE
from splat_core.sae.topk import TopKSAE
from splat_core.sae.train import fit_sae, train_sae

__all__ = [
    "ARCHITECTURES",
    "ReluSAE",
    "SAEConfig",
    "SparseAutoencoder",
    "TopKSAE",
    "build_sae",
    "encode_csr",
    "evaluate_sae",
    "fingerprint",
    "fit_sae",
    "load_sae",
    "loss_recovered",
    "read_metrics",
    "read_sae_config",
    "save_sae",
    "save_sae_files",
    "train_sae",
]
