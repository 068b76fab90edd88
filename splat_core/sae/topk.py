"""TopKSAE (Gao et al. 2024, arXiv 2406.04093): k active latents per sample, AuxK against
dead latents.

State_dict: b_dec [d] (pre-encoder bias), W_enc [F, d], b_enc [F], W_dec [d, F].
h = scatter(topk(W_enc (x - b_dec) + b_enc, k), relu); x_hat = normalize_columns(W_dec) h + b_dec.
"""

from __future__ import annotations

import torch

from splat_core.sae.base import Objective, SparseActs, TiedInitSAE, TrainStep, check_k
from splat_core.sae.config import SAEConfig


class TopKSAE(TiedInitSAE):
    arch = "topk"

    def __init__(
        self, input_dim: int, n_features: int, k: int, generator: torch.Generator | None = None
    ) -> None:
        check_k(k, n_features)
        super().__init__(input_dim, n_features, generator)
        self.k = k

    def activate(self, h_pre: torch.Tensor) -> torch.Tensor:
        return keep_top(h_pre, self.k)

    @classmethod
    def from_config(cls, config: SAEConfig, generator: torch.Generator | None) -> TopKSAE:
        return cls(config.input_dim, config.n_features, config.k, generator)

    def arch_fields(self) -> dict:
        return {**super().arch_fields(), "k": self.k}

    def training_objective(self, config: SAEConfig, variance: float) -> Objective:
        """MSE / Var(x) + aux_coeff * AuxK, both scale-free as in Gao et al."""
        scale = 1.0 / max(variance, 1e-12)

        def topk_objective(x: torch.Tensor, step: int, since_fired: torch.Tensor) -> TrainStep:
            h_pre = self.pre_activations(x)
            acts = self.activate(h_pre)
            x_hat = self.decode(acts)
            mse = (x_hat - x).pow(2).mean()
            loss = mse * scale
            aux = torch.zeros((), device=x.device)
            if config.aux_coeff:
                dead = since_fired >= config.dead_steps
                aux = auxk_loss(self, h_pre, (x - x_hat).detach(), dead, config.aux_k)
                loss = loss + config.aux_coeff * aux
            return TrainStep(loss, {"mse": mse, "aux_loss": aux}, acts)

        return topk_objective

    def encode_sparse(self, x: torch.Tensor) -> SparseActs:
        """The k winners straight from topk: no dense [B, F] zeros, scatter and nonzero
        scan (those cost more than the topk itself at 24,576 features)."""
        values, ids = self.pre_activations(x).topk(self.k, dim=-1, sorted=False)
        ids, order = ids.sort(dim=-1)
        values = values.gather(-1, order).relu()
        keep = values > 0
        rows = torch.arange(len(ids), device=ids.device).unsqueeze(1).expand_as(ids)
        return SparseActs(rows[keep], ids[keep], values[keep])

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, k={self.k}"


def keep_top(h_pre: torch.Tensor, k: int) -> torch.Tensor:
    """[B, F] zeros except each row's k largest entries, passed through relu."""
    values, indices = h_pre.topk(k, dim=-1, sorted=False)
    return torch.zeros_like(h_pre).scatter(-1, indices, values.relu())


def auxk_loss(
    sae: TopKSAE,
    h_pre: torch.Tensor,
    residual: torch.Tensor,
    dead: torch.Tensor,
    aux_k: int,
) -> torch.Tensor:
    """Normalised MSE of the top-`aux_k` dead latents reconstructing the main residual.

    Dead latents get a gradient only through this term, which pulls them toward the
    directions the live latents miss. `residual` = (x - x_hat), detached by the caller;
    `dead` is a [F] bool mask. Zero when no latent is dead.
    """
    dead_ids = dead.nonzero().squeeze(1)
    if len(dead_ids) == 0:
        return h_pre.new_zeros(())
    # Only the dead columns: usually a few percent of F, so this costs little.
    acts = keep_top(h_pre[:, dead_ids], min(aux_k, len(dead_ids)))  # [B, n_dead]
    estimate = acts @ sae.decoder_directions()[:, dead_ids].T  # no b_dec: x_hat holds it
    scale = residual.pow(2).sum(1).mean().clamp_min(1e-12)
    return (estimate - residual).pow(2).sum(1).mean() / scale
