"""JumpReLUSAE (Rajamanoharan et al. 2024, arXiv 2407.14435; Anthropic's January 2025 update):
a learned threshold per latent, trained through straight-through pseudo-derivatives.

State_dict: b_dec [d], W_enc [F, d], b_enc [F], W_dec [d, F], log_threshold [F].
h_f = h_pre_f * H(h_pre_f - theta_f), theta = exp(log_threshold), h_pre = W_enc (x - b_dec) +
b_enc; x_hat = normalize_columns(W_dec) h + b_dec.

H has no useful derivative, so the backward passes use a rectangle kernel of width
`jumprelu_bandwidth` (eps), as the paper and SAELens:
    d/dtheta [x H(x - theta)] := -(theta / eps) rect((x - theta) / eps)
    d/dtheta H(x - theta)     := -(1 / eps) rect((x - theta) / eps)
and the gradient to x of the JumpReLU is H(x - theta) (no pseudo-derivative there).

Loss = MSE / Var(x) + l0_coefficient (optional linear warm-up) * mean_batch(sum_f p_f), with
  step: p_f = H(h_pre_f - theta_f) (the L0; gradient to the thresholds only), or
  tanh: p_f = tanh(c h_f ||d_f||) (Anthropic, Jan 2025; gradient to the encoder as well),
plus pre_act_loss_coefficient * mean_batch(sum_f relu(theta_f - h_pre_f) ||d_f||) when > 0
(Anthropic's guard against latents that never reach their threshold).

Departures, and why: the MSE is scaled by the data's variance as in topk.py (SAELens sums
squared errors over dimensions), so l0_coefficient is smaller than SAELens' 1.0; the decoder
has unit-norm columns (base.py), so ||d_f|| = 1 in the penalties (kept in the formulas so they
stay right for a raw decoder); the threshold's defaults are in our pre-activation units
(SAELens' 0.001 would take thousands of Adam steps in log space to reach our data's scale);
the log-threshold is saved as is (SAELens saves exp of it as `threshold`); no input noise.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from splat_core.sae.base import Objective, TiedInitSAE, TrainStep
from splat_core.sae.config import SAEConfig


def rectangle(x: torch.Tensor) -> torch.Tensor:
    return ((x > -0.5) & (x < 0.5)).to(x.dtype)


class JumpReLUFunction(torch.autograd.Function):
    """x * H(x - threshold), with the rectangle-kernel pseudo-derivative for the threshold."""

    @staticmethod
    def forward(ctx, x, threshold, bandwidth: float):
        ctx.save_for_backward(x, threshold)
        ctx.bandwidth = bandwidth
        return x * (x > threshold).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        x, threshold = ctx.saved_tensors
        eps = ctx.bandwidth
        x_grad = (x > threshold).to(x.dtype) * grad_output
        kernel = rectangle((x - threshold) / eps)
        threshold_grad = (-(threshold / eps) * kernel * grad_output).sum(0)
        return x_grad, threshold_grad, None


class StepFunction(torch.autograd.Function):
    """H(x - threshold), with the rectangle-kernel pseudo-derivative for the threshold only."""

    @staticmethod
    def forward(ctx, x, threshold, bandwidth: float):
        ctx.save_for_backward(x, threshold)
        ctx.bandwidth = bandwidth
        return (x > threshold).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        x, threshold = ctx.saved_tensors
        eps = ctx.bandwidth
        threshold_grad = (-(1.0 / eps) * rectangle((x - threshold) / eps) * grad_output).sum(0)
        return None, threshold_grad, None


class JumpReLUSAE(TiedInitSAE):
    arch = "jumprelu"

    def __init__(
        self,
        input_dim: int,
        n_features: int,
        init_threshold: float = 0.1,
        bandwidth: float = 0.05,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(input_dim, n_features, generator)
        self.bandwidth = bandwidth
        self.log_threshold = nn.Parameter(torch.full((n_features,), math.log(init_threshold)))

    @classmethod
    def from_config(cls, config: SAEConfig, generator: torch.Generator | None) -> JumpReLUSAE:
        return cls(config.input_dim, config.n_features, config.jumprelu_init_threshold,
                   config.jumprelu_bandwidth, generator)  # fmt: skip

    def arch_fields(self) -> dict:
        return {**super().arch_fields(), "jumprelu_bandwidth": self.bandwidth}

    @property
    def threshold(self) -> torch.Tensor:
        """[F] exp(log_threshold) > 0."""
        return self.log_threshold.exp()

    def activate(self, h_pre: torch.Tensor) -> torch.Tensor:
        return JumpReLUFunction.apply(h_pre, self.threshold, self.bandwidth)

    def training_objective(self, config: SAEConfig, variance: float) -> Objective:
        scale = 1.0 / max(variance, 1e-12)
        mode, ramp_steps = config.jumprelu_sparsity_loss_mode, config.l0_warm_up_steps

        def jumprelu_objective(x: torch.Tensor, step: int, since_fired: torch.Tensor):
            h_pre = self.pre_activations(x)
            acts = self.activate(h_pre)
            mse = (self.decode(acts) - x).pow(2).mean()
            penalty = self.sparsity_penalty(h_pre, acts, mode, config.jumprelu_tanh_scale)
            ramp = min(1.0, step / ramp_steps) if ramp_steps else 1.0
            loss = mse * scale + config.l0_coefficient * ramp * penalty
            terms = {"mse": mse, "sparsity_loss": penalty}
            if config.pre_act_loss_coefficient:
                pre_act = self.pre_act_penalty(h_pre)
                loss = loss + config.pre_act_loss_coefficient * pre_act
                terms["pre_act_loss"] = pre_act
            return TrainStep(loss, terms, acts)

        return jumprelu_objective

    def sparsity_penalty(
        self, h_pre: torch.Tensor, acts: torch.Tensor, mode: str, tanh_scale: float
    ) -> torch.Tensor:
        """mean over the batch of sum_f p_f (module docstring)."""
        if mode == "step":
            return StepFunction.apply(h_pre, self.threshold, self.bandwidth).sum(1).mean()
        norms = self.W_dec.norm(dim=0)
        return torch.tanh(tanh_scale * acts * norms).sum(1).mean()

    def pre_act_penalty(self, h_pre: torch.Tensor) -> torch.Tensor:
        """mean over the batch of sum_f relu(theta_f - h_pre_f) ||d_f||."""
        return ((self.threshold - h_pre).relu() * self.W_dec.norm(dim=0)).sum(1).mean()

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, bandwidth={self.bandwidth}"
