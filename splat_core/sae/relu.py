"""ReluSAE: the reference (SplatNLP) sparse autoencoder, with a decoder that learns.

Same state_dict as the reference `SparseAutoencoder` (keys, shapes, order), so a
`sae_model_final.pth` loads unchanged:
    decoder_bias [d], usage_ema [F], encoder.weight [F, d], encoder.bias [F],
    decoder.weight [d, F], decoder.bias [d]
h = clamp(relu(W_enc (x - decoder_bias) + b_enc), 0, cap) (cap 6 as the reference's, or none:
`relu_act_cap` 0); x_hat = normalize_columns(W_dec) h +
decoder_bias. `decoder.bias` exists (nn.Linear) but is unused, as in the reference.
"""

from __future__ import annotations

import torch
from torch import nn

from splat_core.sae.base import Objective, SparseAutoencoder, TrainStep, random_unit_columns
from splat_core.sae.config import SAEConfig

ACT_CAP = 6.0  # the reference's ReLU6-style cap (the default; 0 = none)


class ReluSAE(SparseAutoencoder):
    arch = "relu"

    def __init__(
        self,
        input_dim: int,
        n_features: int,
        generator: torch.Generator | None = None,
        act_cap: float = ACT_CAP,
    ) -> None:
        super().__init__()
        if act_cap < 0:
            raise ValueError(f"relu_act_cap must be >= 0 (0: none), got {act_cap}")
        self.input_dim, self.n_features, self.act_cap = input_dim, n_features, float(act_cap)
        # Registration order fixes the state_dict order: own params, own buffers, children.
        self.decoder_bias = nn.Parameter(torch.zeros(input_dim))
        # Firing-rate EMA; a training statistic only (the reference's KL term read it).
        self.register_buffer("usage_ema", torch.zeros(n_features))
        self.encoder = nn.Linear(input_dim, n_features)
        self.decoder = nn.Linear(n_features, input_dim)
        with torch.no_grad():
            # Encoder starts as the decoder's transpose (Anthropic, April 2024): every latent
            # first responds to its own direction, which keeps fewer latents dead. Scaled by
            # 2d/F because sum_f relu(d_f.x) d_f ~ (F / 2d) x for random directions, so the
            # first reconstructions have the data's scale rather than F/2d times it.
            directions = random_unit_columns(input_dim, n_features, generator)
            self.decoder.weight.copy_(directions)
            self.encoder.weight.copy_(directions.T * (2.0 * input_dim / n_features))
            self.encoder.bias.zero_()
            self.decoder.bias.zero_()

    @classmethod
    def from_config(cls, config: SAEConfig, generator: torch.Generator | None) -> ReluSAE:
        return cls(config.input_dim, config.n_features, generator, config.relu_act_cap)

    def arch_fields(self) -> dict:
        return {**super().arch_fields(), "relu_act_cap": self.act_cap}

    def training_objective(self, config: SAEConfig, variance: float) -> Objective:
        """MSE + l1_coeff (linear warm-up) * mean_batch(sum_f h_f ||d_f||). No usage-KL term:
        the reference's had no gradient."""

        def relu_objective(x: torch.Tensor, step: int, since_fired: torch.Tensor) -> TrainStep:
            x_hat, acts = self(x)
            mse = (x_hat - x).pow(2).mean()
            l1 = self.sparsity_penalty(acts)
            ramp = min(1.0, step / config.l1_warmup_steps) if config.l1_warmup_steps else 1.0
            self.update_usage(acts)
            return TrainStep(mse + config.l1_coeff * ramp * l1, {"mse": mse, "l1": l1}, acts)

        return relu_objective

    @property
    def pre_bias(self) -> torch.Tensor:
        return self.decoder_bias

    @property
    def decoder_weight(self) -> torch.Tensor:
        return self.decoder.weight

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x - self.decoder_bias)

    def activate(self, h_pre: torch.Tensor) -> torch.Tensor:
        return h_pre.clamp(0.0, self.act_cap) if self.act_cap else h_pre.relu()

    def sparsity_penalty(self, acts: torch.Tensor) -> torch.Tensor:
        """mean over the batch of sum_f h_f * ||d_f||: the L1 term, measured in output units
        so that shrinking h while growing ||d_f|| cannot dodge it."""
        return (acts * self.decoder.weight.norm(dim=0)).sum(1).mean()

    @torch.no_grad()
    def update_usage(self, acts: torch.Tensor) -> None:
        """The reference's firing-rate EMA, kept so exported checkpoints carry it."""
        self.usage_ema.mul_(0.99).add_((acts > 0).float().mean(0), alpha=0.01)
