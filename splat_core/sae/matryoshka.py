"""MatryoshkaSAE (Bussmann, Nabeshima, Karvonen & Nanda 2025, arXiv 2503.17547): a BatchTopK
SAE whose nested prefixes of latents must each reconstruct the input on their own.

Same module and inference as BatchTopKSAE (batchtopk.py: a JumpReLU with the learned
threshold, state_dict b_dec, W_enc, b_enc, W_dec, threshold). Training, with widths
w_1 < ... < w_m = F (`matryoshka_widths`) and h = batch_topk(relu(h_pre), B*k):
    x_hat_i = sum_{f < w_i} h_f d_f + b_dec
    loss = mean_i ||x - x_hat_i||^2 / (d Var(x)) + aux_coeff * AuxK(full reconstruction)
so the first latents learn the coarse, frequent directions and later ones refine them.

Departures, and why: as the paper's code, every prefix uses the one batch top-k selection of
the whole dictionary (SAELens re-runs BatchTopK inside each prefix, so a prefix's code is not
the prefix of the model's code); the prefix losses are averaged, not summed (SAELens), so
the loss keeps BatchTopK's scale for any number of levels; MSE is scaled by Var(x) as in
topk.py.
"""

from __future__ import annotations

import torch

from splat_core.sae.base import Objective, TrainStep
from splat_core.sae.batchtopk import BatchTopKSAE, batch_topk
from splat_core.sae.config import SAEConfig, default_matryoshka_widths


class MatryoshkaSAE(BatchTopKSAE):
    arch = "matryoshka"

    def __init__(
        self,
        input_dim: int,
        n_features: int,
        k: int,
        widths: tuple[int, ...] = (),
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(input_dim, n_features, k, generator)
        widths = tuple(widths) or default_matryoshka_widths(n_features)
        if any(b <= a for a, b in zip(widths, widths[1:], strict=False)) or widths[0] < 1:
            raise ValueError(f"matryoshka widths must be increasing and >= 1, got {widths}")
        if widths[-1] != n_features:
            raise ValueError(f"the last matryoshka width must be {n_features}, got {widths}")
        self.widths = widths

    @classmethod
    def from_config(cls, config: SAEConfig, generator: torch.Generator | None) -> MatryoshkaSAE:
        return cls(config.input_dim, config.n_features, config.k, config.matryoshka_widths,
                   generator)  # fmt: skip

    def arch_fields(self) -> dict:
        return {**super().arch_fields(), "matryoshka_widths": list(self.widths)}

    def prefix_reconstructions(self, acts: torch.Tensor) -> list[torch.Tensor]:
        """[B, d] reconstruction by each prefix of the latents, smallest first."""
        directions = self.decoder_directions()
        out, partial, start = [], self.pre_bias.expand(len(acts), -1), 0
        for width in self.widths:
            partial = partial + acts[:, start:width] @ directions[:, start:width].T
            out.append(partial)
            start = width
        return out

    def training_objective(self, config: SAEConfig, variance: float) -> Objective:
        scale = 1.0 / max(variance, 1e-12)

        def matryoshka_objective(x: torch.Tensor, step: int, since_fired: torch.Tensor):
            h_pre = self.pre_activations(x)
            acts = batch_topk(h_pre, self.k)
            levels = self.prefix_reconstructions(acts)
            mses = [(x_hat - x).pow(2).mean() for x_hat in levels]
            x_hat = levels[-1]
            aux = self.aux_term(config, h_pre, x, x_hat, since_fired)
            loss = torch.stack(mses).mean() * scale + config.aux_coeff * aux
            self.update_threshold(acts, step, config.topk_threshold_lr)
            terms = {"mse": mses[-1], "aux_loss": aux, "threshold": self.threshold[0]}
            terms |= {f"mse_{w}": m for w, m in zip(self.widths[:-1], mses, strict=False)}
            return TrainStep(loss, terms, acts)

        return matryoshka_objective

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, widths={list(self.widths)}"
