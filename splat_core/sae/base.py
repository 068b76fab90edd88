"""What every SAE architecture shares: a pre-encoder bias, a unit-norm dictionary and the
encode / decode / forward API.

x_hat = D h + b_pre, where D [d, F] has unit-norm columns (`decoder_directions`) and h [B, F]
is non-negative. Subclasses say where their weights live and how pre-activations become
activations.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn


class SparseAutoencoder(nn.Module):
    arch: ClassVar[str]
    input_dim: int
    n_features: int

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

    def encode_sparse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """[B, d] -> (rows, feature ids, values) of the nonzero activations, row-major with
        ids ascending within a row (what `encode` then `nonzero` gives)."""
        acts = self.encode(x)
        rows, cols = torch.nonzero(acts, as_tuple=True)
        return rows, cols, acts[rows, cols]

    def decoder_directions(self) -> torch.Tensor:
        """[d, F] unit-norm dictionary. Normalised with gradient (the reference did it under
        no_grad, so its dictionary never learned)."""
        return F.normalize(self.decoder_weight, dim=0, eps=1e-12)

    def decode(self, acts: torch.Tensor) -> torch.Tensor:
        return acts @ self.decoder_directions().T + self.pre_bias  # [B, d]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        acts = self.encode(x)
        return self.decode(acts), acts

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


def random_unit_columns(d: int, n: int, generator: torch.Generator | None) -> torch.Tensor:
    """[d, n] Gaussian columns scaled to unit norm: uniform random directions."""
    return F.normalize(torch.randn(d, n, generator=generator), dim=0)
