"""Training an SAE on pooled vectors held in memory.

Seeded end to end (init from a torch.Generator, batch order from a numpy Generator), so the
same seed gives bit-identical weights on CPU. The loop is the same for every architecture;
only the objective differs, and each architecture supplies its own
(`SparseAutoencoder.training_objective`: relu.py, topk.py). After every step the decoder's
columns are put back on the unit sphere.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from splat_core.model.train import lr_factor, resolve_device
from splat_core.sae.base import SparseAutoencoder
from splat_core.sae.config import SAEConfig
from splat_core.sae.registry import build_sae


class TrainedSAE(NamedTuple):
    sae: SparseAutoencoder
    """The trained module, on the CPU in eval mode."""
    history: list[dict]
    """One row per epoch: mean loss terms, L0, dead fraction, lr, seconds."""


def train_sae(
    pooled: np.ndarray,
    config: SAEConfig = SAEConfig(),
    progress: Callable[[str], None] = print,
) -> TrainedSAE:
    """Initialise an SAE for `pooled` [N, d] and train it."""
    x = as_matrix(pooled)
    config = config.resolved(x.shape[1])
    if config.threads:
        torch.set_num_threads(config.threads)
    sae = build_sae(config, torch.Generator().manual_seed(config.seed))
    with torch.no_grad():
        sae.pre_bias.copy_(torch.from_numpy(initial_pre_bias(x, config.pre_bias_init, config.seed)))
    history = fit_sae(sae, x, config, progress)
    return TrainedSAE(sae, history)


def fit_sae(
    sae: SparseAutoencoder,
    pooled: np.ndarray,
    config: SAEConfig,
    progress: Callable[[str], None] = print,
) -> list[dict]:
    """Train `sae` in place for config.epochs over shuffled batches of `pooled`."""
    x = as_matrix(pooled)
    if x.shape[1] != sae.input_dim:
        raise ValueError(f"pooled width {x.shape[1]} != sae input_dim {sae.input_dim}")
    device = resolve_device(config.device)
    sae.to(device).train()
    data = torch.from_numpy(x).to(device)
    n, batch_size = len(x), config.batch_size
    total = math.ceil(n / batch_size) * config.epochs
    optimizer = torch.optim.Adam(sae.parameters(), lr=config.lr)
    warmup = max(1, int(config.warmup_frac * total))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, warmup))
    objective = sae.training_objective(config, float(x.var(axis=0, dtype=np.float64).mean()))
    rng = np.random.default_rng([config.seed, 1])
    since_fired = torch.zeros(sae.n_features, dtype=torch.long, device=device)
    history, step, start = [], 0, time.perf_counter()
    for epoch in range(config.epochs):
        order = torch.from_numpy(rng.permutation(n)).to(device)
        sums: dict[str, torch.Tensor] = {}
        fired = torch.zeros(sae.n_features, dtype=torch.bool, device=device)
        for i in range(0, n, batch_size):
            batch = data[order[i : i + batch_size]]
            loss, terms, acts = objective(batch, step, since_fired)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            sae.project_decoder_grad()
            optimizer.step()
            scheduler.step()
            sae.normalize_decoder()
            step += 1
            with torch.no_grad():
                active = acts > 0
                fired_now = active.any(0)
                since_fired.add_(1).masked_fill_(fired_now, 0)
                fired |= fired_now
                # Accumulate on the device; one sync per epoch instead of one per step.
                terms = {"loss": loss, **terms, "l0": active.sum(1).float().mean()}
                for key, value in terms.items():
                    sums[key] = sums.get(key, 0) + value.detach() * len(batch)
        row = {"epoch": epoch + 1, **{k: float(v) / n for k, v in sums.items()}}
        row["dead_fraction"] = 1.0 - float(fired.float().mean())  # no firing this epoch
        row["lr"] = scheduler.get_last_lr()[0]
        row["seconds"] = round(time.perf_counter() - start, 2)
        history.append(row)
        progress(
            f"sae epoch {epoch + 1}/{config.epochs}  loss {row['loss']:.4g}  "
            f"mse {row['mse']:.4g}  L0 {row['l0']:.1f}  "
            f"dead {row['dead_fraction']:.1%}  ({row['seconds']:.0f}s)"
        )
    sae.cpu().eval()
    return history


def initial_pre_bias(x: np.ndarray, method: str, seed: int, max_rows: int = 8192) -> np.ndarray:
    """Start b_dec at the data's centre, so the encoder first sees centred inputs."""
    if method == "zero":
        return np.zeros(x.shape[1], dtype=np.float32)
    if len(x) > max_rows:  # a sample is plenty for a centre
        x = x[np.sort(np.random.default_rng([seed, 2]).choice(len(x), max_rows, replace=False))]
    if method == "mean":
        return x.mean(axis=0, dtype=np.float64).astype(np.float32)
    return geometric_median(x).astype(np.float32)


def geometric_median(x: np.ndarray, iters: int = 100, tol: float = 1e-7) -> np.ndarray:
    """Weiszfeld's algorithm in float64, from the mean: robust to outlying vectors."""
    points = x.astype(np.float64)
    median = points.mean(axis=0)
    for _ in range(iters):
        weights = 1.0 / np.maximum(np.linalg.norm(points - median, axis=1), 1e-12)
        new = weights @ points / weights.sum()
        moved = np.linalg.norm(new - median)
        median = new
        if moved <= tol * (1.0 + np.linalg.norm(median)):
            break
    return median


def as_matrix(pooled) -> np.ndarray:
    """[N, d] contiguous float32, finite, non-empty."""
    x = np.ascontiguousarray(pooled, dtype=np.float32)
    if x.ndim != 2 or len(x) == 0 or x.shape[1] == 0:
        raise ValueError(f"pooled must be a non-empty [N, d] array, got shape {x.shape}")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise ValueError(f"pooled holds NaN or inf in {int(bad.sum())} rows")
    return x
