"""SAE quality, computed batch by batch (never a dense [N, F] matrix of the whole dataset).

- explained_variance = 1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2
- mean_l0: mean number of nonzero activations per sample
- dead_fraction: share of latents that fire on no sample of the given data
- loss_recovered = (L_ablated - L_spliced) / (L_ablated - L_clean), where L is the mean
  BCE-with-logits of output_layer(v) against multi-hot targets over the given columns, and v is
  the pooled vector (clean), the SAE's reconstruction (spliced) or the mean pooled vector
  (ablated). 1 = the SAE loses nothing downstream; 0 = no better than mean ablation.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from splat_core.sae.base import SparseAutoencoder

BATCH = 4096


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def _batches(n: int, batch_size: int) -> Iterator[slice]:
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


@torch.no_grad()
def reconstruction_stats(
    sae: SparseAutoencoder, pooled: np.ndarray, batch_size: int = BATCH
) -> dict:
    """explained_variance, mse, mean_l0, dead_fraction and n_dead in one pass."""
    x_all = np.asarray(pooled, dtype=np.float32)
    n, device = len(x_all), _device(sae)
    mean = torch.from_numpy(x_all.mean(axis=0, dtype=np.float64)).to(device)
    sse = sst = 0.0
    nnz = 0
    fired = torch.zeros(sae.n_features, dtype=torch.bool, device=device)
    for rows in _batches(n, batch_size):
        x = torch.from_numpy(x_all[rows]).to(device)
        x_hat, acts = sae(x)
        sse += float((x - x_hat).double().pow(2).sum())
        sst += float((x.double() - mean).pow(2).sum())
        active = acts > 0
        nnz += int(active.sum())
        fired |= active.any(0)
    n_dead = int((~fired).sum())
    return {
        "explained_variance": 1.0 - sse / sst if sst > 0 else float("nan"),
        "mse": sse / max(1, x_all.size),
        "mean_l0": nnz / max(1, n),
        "dead_fraction": n_dead / sae.n_features,
        "n_dead": n_dead,
    }


def explained_variance(sae: SparseAutoencoder, pooled: np.ndarray, batch_size: int = BATCH):
    return reconstruction_stats(sae, pooled, batch_size)["explained_variance"]


def mean_l0(sae: SparseAutoencoder, pooled: np.ndarray, batch_size: int = BATCH) -> float:
    return reconstruction_stats(sae, pooled, batch_size)["mean_l0"]


def dead_fraction(sae: SparseAutoencoder, pooled: np.ndarray, batch_size: int = BATCH) -> float:
    return reconstruction_stats(sae, pooled, batch_size)["dead_fraction"]


@torch.no_grad()
def downstream_losses(
    output_layer: nn.Module,
    pooled: np.ndarray,
    targets: np.ndarray,
    sae: SparseAutoencoder,
    columns: np.ndarray | None = None,
    mean: np.ndarray | None = None,
    batch_size: int = BATCH,
) -> dict:
    """Mean BCE over rows x `columns` for clean, spliced and mean-ablated pooled vectors.

    `targets` [N, V] multi-hot, aligned with `pooled` [N, d]; `columns` selects the scored
    logits (content tokens; None = all); `mean` is the ablation vector (default: the mean of
    `pooled`).
    """
    x_all = np.asarray(pooled, dtype=np.float32)
    if len(targets) != len(x_all):
        raise ValueError(f"{len(targets)} target rows for {len(x_all)} pooled vectors")
    out_device, sae_device = _device(output_layer), _device(sae)
    cols = None if columns is None else torch.as_tensor(np.asarray(columns), dtype=torch.long)
    if mean is None:
        mean = x_all.mean(axis=0, dtype=np.float64)
    mean_vec = torch.as_tensor(np.asarray(mean, dtype=np.float32), device=out_device)
    ablated_logits = _select(output_layer(mean_vec[None]), cols)  # [1, C], same for every row
    totals = {"clean": 0.0, "spliced": 0.0, "ablated": 0.0}
    count = 0
    for rows in _batches(len(x_all), batch_size):
        x = torch.from_numpy(x_all[rows])
        t = _select(torch.as_tensor(np.asarray(targets[rows]), dtype=torch.float32), cols)
        t = t.to(out_device)
        x_hat = sae(x.to(sae_device))[0].to(out_device)
        logits = {
            "clean": _select(output_layer(x.to(out_device)), cols),
            "spliced": _select(output_layer(x_hat), cols),
            "ablated": ablated_logits.expand_as(t),
        }
        for key, value in logits.items():
            totals[key] += float(F.binary_cross_entropy_with_logits(value, t, reduction="sum"))
        count += t.numel()
    return {f"loss_{key}": value / max(1, count) for key, value in totals.items()}


def _select(logits: torch.Tensor, cols: torch.Tensor | None) -> torch.Tensor:
    return logits if cols is None else logits[:, cols.to(logits.device)]


def recovered_fraction(losses: dict) -> float:
    gap = losses["loss_ablated"] - losses["loss_clean"]
    if gap == 0:
        return float("nan")
    return (losses["loss_ablated"] - losses["loss_spliced"]) / gap


def loss_recovered(
    output_layer: nn.Module,
    pooled: np.ndarray,
    targets: np.ndarray,
    sae: SparseAutoencoder,
    columns: np.ndarray | None = None,
    mean: np.ndarray | None = None,
    batch_size: int = BATCH,
) -> float:
    """(L_ablated - L_spliced) / (L_ablated - L_clean); see `downstream_losses`."""
    losses = downstream_losses(output_layer, pooled, targets, sae, columns, mean, batch_size)
    return recovered_fraction(losses)


def evaluate_sae(
    sae: SparseAutoencoder,
    pooled: np.ndarray,
    output_layer: nn.Module | None = None,
    targets: np.ndarray | None = None,
    columns: np.ndarray | None = None,
    held_out_rows: np.ndarray | None = None,
    batch_size: int = BATCH,
) -> dict:
    """Every metric in one dict (JSON-ready floats).

    Reconstruction metrics cover all of `pooled`. With `output_layer` and `targets`, also the
    downstream losses and loss_recovered: on `pooled[held_out_rows]` when given (then
    `targets` is aligned with those rows), with the ablation mean taken over all of `pooled`.
    """
    x = np.asarray(pooled, dtype=np.float32)
    metrics = {"n_samples": len(x), "n_features": sae.n_features}
    metrics |= reconstruction_stats(sae, x, batch_size)
    if output_layer is not None and targets is not None:
        mean = x.mean(axis=0, dtype=np.float64)
        scored = x if held_out_rows is None else x[np.asarray(held_out_rows)]
        losses = downstream_losses(output_layer, scored, targets, sae, columns, mean, batch_size)
        metrics |= losses
        metrics["loss_recovered"] = recovered_fraction(losses)
        metrics["n_loss_samples"] = len(scored)
    return metrics
