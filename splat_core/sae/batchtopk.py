"""BatchTopKSAE (Bussmann, Leask & Nanda 2024, arXiv 2412.06410): the top B*k activations of
the whole batch in training, a learned threshold at inference.

State_dict: b_dec [d], W_enc [F, d], b_enc [F], W_dec [d, F], threshold [F] (a buffer).
Training: h = batch_topk(relu(W_enc (x - b_dec) + b_enc), B*k), so k latents fire per sample
on average and a sample may use more or fewer. Inference (`encode`, `encode_sparse`): a
JumpReLU, h_f = h_pre_f * [h_pre_f > threshold_f], so a sample's code does not depend on
the batch it came in. As SAELens, the threshold is one number for every latent (stored per
latent, so the saved module already is a JumpReLU), estimated as a running mean of the batch's
smallest kept positive activation.

Departures from SAELens, and why:
- The running mean starts as a plain mean: weight max(topk_threshold_lr, 1 / (step + 1)),
  not an EMA from 0, so short trainings (a few hundred steps here) end with a threshold
  that is not biased toward 0 by its starting value.
- The threshold is a float32 buffer named `threshold` (SAELens: a double `topk_threshold`
  scalar, turned into `threshold` [F] when saved); our checkpoint is the state_dict itself.
- The decoder has unit-norm columns (base.py) instead of SAELens' decoder-norm rescaling.
"""

from __future__ import annotations

import torch

from splat_core.sae.base import Objective, TiedInitSAE, TrainStep, check_k
from splat_core.sae.config import SAEConfig
from splat_core.sae.topk import auxk_loss


class BatchTopKSAE(TiedInitSAE):
    arch = "batchtopk"

    def __init__(
        self, input_dim: int, n_features: int, k: int, generator: torch.Generator | None = None
    ) -> None:
        check_k(k, n_features)
        super().__init__(input_dim, n_features, generator)
        self.k = k
        # 0 until trained: an untrained module's inference is a plain ReLU.
        self.register_buffer("threshold", torch.zeros(n_features))

    @classmethod
    def from_config(cls, config: SAEConfig, generator: torch.Generator | None) -> BatchTopKSAE:
        return cls(config.input_dim, config.n_features, config.k, generator)

    def arch_fields(self) -> dict:
        return {**super().arch_fields(), "k": self.k}

    def activate(self, h_pre: torch.Tensor) -> torch.Tensor:
        """Inference: JumpReLU with the learned threshold (>= 0, so the result is too)."""
        return h_pre * (h_pre > self.threshold).to(h_pre.dtype)

    def training_objective(self, config: SAEConfig, variance: float) -> Objective:
        """MSE / Var(x) + aux_coeff * AuxK (topk.py), on the batch top-k activations; every
        step also updates the inference threshold."""
        scale = 1.0 / max(variance, 1e-12)

        def batchtopk_objective(x: torch.Tensor, step: int, since_fired: torch.Tensor):
            h_pre = self.pre_activations(x)
            acts = batch_topk(h_pre, self.k)
            x_hat = self.decode(acts)
            mse = (x_hat - x).pow(2).mean()
            loss, aux = mse * scale, self.aux_term(config, h_pre, x, x_hat, since_fired)
            loss = loss + config.aux_coeff * aux
            self.update_threshold(acts, step, config.topk_threshold_lr)
            return TrainStep(loss, {"mse": mse, "aux_loss": aux, "threshold": self.threshold[0]},
                             acts)  # fmt: skip

        return batchtopk_objective

    def aux_term(self, config, h_pre, x, x_hat, since_fired) -> torch.Tensor:
        """AuxK against latents dead for config.dead_steps (0 when aux_coeff is 0)."""
        if not config.aux_coeff:
            return torch.zeros((), device=x.device)
        dead = since_fired >= config.dead_steps
        return auxk_loss(self, h_pre, (x - x_hat).detach(), dead, config.aux_k)

    @torch.no_grad()
    def update_threshold(self, acts: torch.Tensor, step: int, lr: float) -> None:
        """threshold <- (1 - w) threshold + w * min(positive acts), w = max(lr, 1/(step+1))."""
        positive = acts[acts > 0]
        if len(positive) == 0:
            return
        weight = max(lr, 1.0 / (step + 1))
        self.threshold.mul_(1.0 - weight).add_(positive.min(), alpha=weight)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, k={self.k}"


def batch_topk(h_pre: torch.Tensor, k: int) -> torch.Tensor:
    """[B, F] zeros except the B*k largest entries of relu(h_pre) over the whole batch."""
    acts = h_pre.relu()
    flat = acts.flatten()
    values, indices = flat.topk(min(k * len(h_pre), flat.numel()), sorted=False)
    return torch.zeros_like(flat).scatter(0, indices, values).reshape(acts.shape)
