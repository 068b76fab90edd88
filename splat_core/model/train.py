"""Training SetCompletionModel with random-subset augmentation, BCE and AdamW."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from splat_core.builds.subsets import fixed_subsets, sample_subsets
from splat_core.builds.table import BuildTable
from splat_core.choices import Device, check_choices
from splat_core.model.evaluate import (
    baseline_scores,
    completion_metrics,
    predict_proba,
    weapon_frequency,
)
from splat_core.model.set_completion import ModelParams, SetCompletionModel


@dataclass(frozen=True)
class TrainConfig:
    embedding_dim: int = 32
    hidden_dim: int = 64
    num_layers: int = 1
    num_heads: int = 4
    num_inducing_points: int = 8
    use_layer_norm: bool = True
    dropout: float = 0.0
    epochs: int = 4
    instances_per_epoch: int = 2  # random subsets of each training build per epoch
    batch_size: int = 512
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_frac: float = 0.05
    grad_clip: float = 1.0
    skew: float = 1.2
    null_frac: float = 0.05  # share of training inputs that are <NULL> alone
    val_frac: float = 0.05
    test_frac: float = 0.1
    eval_instances: int = 2  # fixed subsets per held-out build
    seed: int = 0
    device: Device = "auto"
    threads: int = 0  # torch intra-op threads; 0 leaves torch's default

    def __post_init__(self):
        check_choices(self)


@dataclass
class Split:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split_builds(n: int, val_frac: float, test_frac: float, seed: int) -> Split:
    """Seeded shuffle, then test / val / train by position."""
    order = np.random.default_rng([seed, 1]).permutation(n)
    n_test, n_val = round(n * test_frac), round(n * val_frac)
    return Split(
        np.sort(order[n_test + n_val :]),
        np.sort(order[n_test : n_test + n_val]),
        np.sort(order[:n_test]),
    )


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but CUDA is not available")
    return torch.device(device)


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 10%."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


@dataclass
class TrainResult:
    model: SetCompletionModel
    params: ModelParams
    metrics: dict


def train_model(
    table: BuildTable,
    config: TrainConfig = TrainConfig(),
    progress: Callable[[str], None] = print,
) -> TrainResult:
    """Train on a split of `table`; report held-out metrics beside the frequency baseline."""
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    device = resolve_device(config.device)
    split = split_builds(len(table), config.val_frac, config.test_frac, config.seed)
    params = ModelParams(
        vocab_size=len(table.vocab),
        weapon_vocab_size=len(table.weapon_vocab),
        embedding_dim=config.embedding_dim,
        hidden_dim=config.hidden_dim,
        output_dim=len(table.vocab),
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        num_inducing_points=config.num_inducing_points,
        use_layer_norm=config.use_layer_norm,
        dropout=config.dropout,
        pad_token_id=table.vocab.pad_id,
    )
    model = SetCompletionModel.from_params(params).to(device)
    content = torch.tensor(table.vocab.content_ids(), device=device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    steps_per_epoch = math.ceil(len(split.train) * config.instances_per_epoch / config.batch_size)
    total = steps_per_epoch * config.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, total, max(1, int(config.warmup_frac * total)))
    )
    rng = np.random.default_rng([config.seed, 2])
    val_batch = fixed_subsets(table.subset(split.val), split.val, 1, config.seed + 1)[2]
    history, start = [], time.perf_counter()
    for epoch in range(config.epochs):
        model.train()
        rows = rng.permutation(np.tile(split.train, config.instances_per_epoch))
        losses = []
        for i in range(0, len(rows), config.batch_size):
            batch = sample_subsets(
                table, rows[i : i + config.batch_size], rng, config.skew, config.null_frac
            )
            tokens = torch.from_numpy(batch.tokens).to(device)
            weapons = torch.from_numpy(batch.weapons).to(device)
            targets = torch.from_numpy(batch.targets).to(device)[:, content].float()
            logits = model(tokens, weapons)[:, content]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        val = completion_metrics(
            predict_proba(model, val_batch.tokens, val_batch.weapons),
            val_batch,
            np.asarray(table.vocab.content_ids()),
        )
        history.append(
            {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), **_round(val),
             "seconds": round(time.perf_counter() - start, 1)}
        )  # fmt: skip
        progress(
            f"epoch {epoch + 1}/{config.epochs}  loss {np.mean(losses):.4f}  "
            f"val F1 {val['micro_f1']:.3f}  val completion {val['completion_recall']:.3f}  "
            f"({time.perf_counter() - start:.0f}s)"
        )
    model.eval()
    metrics = {
        "train_config": asdict(config),
        "n_builds": {"train": len(split.train), "val": len(split.val), "test": len(split.test)},
        "history": history,
        "train_seconds": round(time.perf_counter() - start, 1),
        **held_out_metrics(model, table, split, config),
    }
    return TrainResult(model.cpu(), params, metrics)


def held_out_metrics(model, table: BuildTable, split: Split, config: TrainConfig) -> dict:
    """Test-split metrics of the model and of the weapon-frequency baselines."""
    test = table.subset(split.test)
    batch = fixed_subsets(test, split.test, config.eval_instances, config.seed + 2)[2]
    content = np.asarray(table.vocab.content_ids())
    freq = weapon_frequency(table.subset(split.train))
    return {
        "test": _round(completion_metrics(predict_proba(model, batch.tokens, batch.weapons),
                                          batch, content)),
        "baseline_weapon_frequency": _round(
            completion_metrics(baseline_scores(freq, batch, copy_input=False), batch, content)
        ),
        "baseline_weapon_frequency_copy_input": _round(
            completion_metrics(baseline_scores(freq, batch, copy_input=True), batch, content)
        ),
    }  # fmt: skip


def _round(metrics: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}
