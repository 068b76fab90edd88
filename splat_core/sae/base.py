"""What every SAE architecture shares: a pre-encoder bias, a unit-norm dictionary and the
encode / decode / forward API.

x_hat = D h + b_pre, where D [d, F] has unit-norm columns (`decoder_directions`) and h [B, F]
is non-negative. Subclasses say where their weights live and how pre-activations become
activations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, NamedTuple, Self

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from splat_core.sae.config import SAEConfig


class SparseActs(NamedTuple):
    """The nonzero activations of a batch, row-major, feature ids ascending within a row."""

    rows: torch.Tensor
    """[nnz] row of each entry in the batch."""
    feature_ids: torch.Tensor
    """[nnz] feature of each entry."""
    values: torch.Tensor
    """[nnz] its activation (> 0)."""


class ForwardOutput(NamedTuple):
    """What `SparseAutoencoder.forward` returns (unpacks as `x_hat, acts`)."""

    x_hat: torch.Tensor
    """[B, d] the reconstruction."""
    acts: torch.Tensor
    """[B, F] the non-negative feature activations."""


class TrainStep(NamedTuple):
    """One training step's objective on a batch."""

    loss: torch.Tensor
    """The scalar to minimise."""
    terms: dict[str, torch.Tensor]
    """Named scalar terms to log (mse, l1, aux_loss, ...)."""
    acts: torch.Tensor
    """[B, F] the batch's activations (for L0 and dead-latent bookkeeping)."""


# objective(batch [B, d], step, steps since each latent fired [F]) -> TrainStep
Objective = Callable[[torch.Tensor, int, torch.Tensor], TrainStep]


class SparseAutoencoder(nn.Module):
    """The shared API; each architecture supplies `from_config`, `training_objective`,
    `pre_bias`, `decoder_weight`, `pre_activations` and `activate` (and may refine
    `encode_sparse` and `arch_fields`)."""

    arch: ClassVar[str]
    input_dim: int
    n_features: int

    @classmethod
    def from_config(cls, config: SAEConfig, generator: torch.Generator | None) -> Self:
        """A freshly initialised module of the config's shape (registry.build_sae)."""
        raise NotImplementedError

    def training_objective(self, config: SAEConfig, variance: float) -> Objective:
        """The architecture's loss; `variance` is the data's mean per-dimension variance."""
        raise NotImplementedError

    def arch_fields(self) -> dict:
        """The config fields that this module's shape and arch fix (saved in sae_config.json,
        so that the file loads back into this class)."""
        return {"arch": self.arch, "input_dim": self.input_dim, "n_features": self.n_features,
                "expansion_factor": 0.0}  # fmt: skip

    # --- supplied by each architecture ---
    @property
    def pre_bias(self) -> torch.Tensor:
        """[d], subtracted before encoding and added back after decoding."""
        raise NotImplementedError

    @property
    def decoder_weight(self) -> torch.Tensor:
        """[d, F] raw dictionary parameter; decode uses its column-normalised copy."""
        raise NotImplementedError

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        """[B, F] encoder output before the nonlinearity."""
        raise NotImplementedError

    def activate(self, h_pre: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # --- shared ---
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """[B, d] -> [B, F] non-negative activations."""
        return self.activate(self.pre_activations(x))

    def encode_sparse(self, x: torch.Tensor) -> SparseActs:
        """[B, d] -> the nonzero activations (what `encode` then `nonzero` gives)."""
        acts = self.encode(x)
        rows, cols = torch.nonzero(acts, as_tuple=True)
        return SparseActs(rows, cols, acts[rows, cols])

    def decoder_directions(self) -> torch.Tensor:
        """[d, F] unit-norm dictionary. Normalised with gradient (the reference did it under
        no_grad, so its dictionary never learned)."""
        return F.normalize(self.decoder_weight, dim=0, eps=1e-12)

    def decode(self, acts: torch.Tensor) -> torch.Tensor:
        return acts @ self.decoder_directions().T + self.pre_bias  # [B, d]

    def forward(self, x: torch.Tensor) -> ForwardOutput:
        acts = self.encode(x)
        return ForwardOutput(self.decode(acts), acts)

    @torch.no_grad()
    def project_decoder_grad(self) -> None:
        """Drop each column's gradient component along the column: with the norm fixed, only
        its direction may change (Adam would otherwise spend steps on the norm)."""
        weight = self.decoder_weight
        if weight.grad is None:
            return
        unit = F.normalize(weight, dim=0, eps=1e-12)
        weight.grad -= (weight.grad * unit).sum(0, keepdim=True) * unit

    @torch.no_grad()
    def normalize_decoder(self) -> None:
        """Put the raw columns back on the unit sphere after an optimizer step."""
        self.decoder_weight.copy_(F.normalize(self.decoder_weight, dim=0, eps=1e-12))

    def extra_repr(self) -> str:
        return f"arch={self.arch}, input_dim={self.input_dim}, n_features={self.n_features}"


class TiedInitSAE(SparseAutoencoder):
    """The weights of topk, batchtopk and jumprelu, by SAELens' names and in this order:
    b_dec [d] (the pre-encoder bias), W_enc [F, d], b_enc [F], W_dec [d, F]; the encoder
    starts as the decoder's transpose (Gao et al. §2.4: fewer dead latents)."""

    def __init__(self, input_dim: int, n_features: int, generator: torch.Generator | None):
        super().__init__()
        self.input_dim, self.n_features = input_dim, n_features
        directions = random_unit_columns(input_dim, n_features, generator)
        self.b_dec = nn.Parameter(torch.zeros(input_dim))
        self.W_enc = nn.Parameter(directions.T.clone())
        self.b_enc = nn.Parameter(torch.zeros(n_features))
        self.W_dec = nn.Parameter(directions)

    @property
    def pre_bias(self) -> torch.Tensor:
        return self.b_dec

    @property
    def decoder_weight(self) -> torch.Tensor:
        return self.W_dec

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.b_dec) @ self.W_enc.T + self.b_enc


def check_k(k: int, n_features: int) -> None:
    if not 1 <= k <= n_features:
        raise ValueError(f"k must be in [1, n_features={n_features}], got {k}")


def random_unit_columns(d: int, n: int, generator: torch.Generator | None) -> torch.Tensor:
    """[d, n] Gaussian columns scaled to unit norm: uniform random directions."""
    return F.normalize(torch.randn(d, n, generator=generator), dim=0)
