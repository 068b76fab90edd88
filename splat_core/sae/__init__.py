"""Sparse autoencoders on the model's pooled vector: architectures, training, metrics,
sparse encoding and checkpoints (ours and SplatNLP's).

Every architecture registers here, under its `arch` (registry.py); add one with its own
module, its config fields in SAEConfig and its name in `config.Arch`."""

from splat_core.sae.base import ForwardOutput, SparseActs, SparseAutoencoder
from splat_core.sae.batchtopk import BatchTopKSAE
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
from splat_core.sae.jumprelu import JumpReLUSAE
from splat_core.sae.matryoshka import MatryoshkaSAE
from splat_core.sae.metrics import evaluate_sae, loss_recovered
from splat_core.sae.registry import ARCHITECTURES, build_sae, register_sae, sae_class
from splat_core.sae.relu import ReluSAE
from splat_core.sae.topk import TopKSAE
from splat_core.sae.train import TrainedSAE, fit_sae, train_sae

register_sae(ReluSAE)
register_sae(TopKSAE)
register_sae(BatchTopKSAE)
register_sae(JumpReLUSAE)
register_sae(MatryoshkaSAE)

__all__ = [
    "ARCHITECTURES",
    "BatchTopKSAE",
    "ForwardOutput",
    "JumpReLUSAE",
    "MatryoshkaSAE",
    "ReluSAE",
    "SAEConfig",
    "SparseActs",
    "SparseAutoencoder",
    "TopKSAE",
    "TrainedSAE",
    "build_sae",
    "encode_csr",
    "evaluate_sae",
    "fingerprint",
    "fit_sae",
    "load_sae",
    "loss_recovered",
    "read_metrics",
    "read_sae_config",
    "register_sae",
    "sae_class",
    "save_sae",
    "save_sae_files",
    "train_sae",
]
