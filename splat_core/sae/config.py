"""SAEConfig: architecture and training settings of a sparse autoencoder.

Defaults suit the embedded model's 64-d pooled vector with 512 latents. A profile or an
override changes any of them (`sae.k=8`); `resolved(d)` fills in what the data decides.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Literal

from splat_core.choices import Device, check_choices

# The registered architectures (sae/__init__.py registers one class per name; tested).
Arch = Literal["relu", "topk"]


@dataclass(frozen=True)
class SAEConfig:
    arch: Arch = "topk"  # relu (reference-compatible, L1) | topk (Gao et al. 2024, AuxK)
    input_dim: int = 0  # 0: taken from the data
    n_features: int = 512
    expansion_factor: float = 0.0  # > 0: n_features = int(input_dim * expansion_factor)
    # topk
    k: int = 16  # active latents per sample
    aux_k: int = 32  # dead latents used by AuxK (Gao et al.: input_dim / 2)
    aux_coeff: float = 1 / 32
    dead_steps: int = 100  # a latent is dead after this many training steps without firing
    # relu
    l1_coeff: float = 3e-3  # on mean_batch(sum_f h_f * ||d_f||); MSE is a mean over elements
    l1_warmup_steps: int = 200  # linear ramp of l1_coeff from 0 (fewer latents die early)
    # optimisation
    lr: float = 2e-3  # measured on the embedded model; above Gao et al.'s 1.1e-3 (fewer steps)
    batch_size: int = 1024
    epochs: int = 5
    warmup_frac: float = 0.05  # linear lr warm-up, then cosine decay to 10%
    pre_bias_init: Literal["geometric_median", "mean", "zero"] = "geometric_median"
    seed: int = 0
    device: Device = "auto"
    threads: int = 0  # torch intra-op threads; 0 leaves torch's default

    def __post_init__(self):
        check_choices(self)
        for name in ("n_features", "k", "aux_k", "dead_steps", "batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("input_dim", "expansion_factor", "aux_coeff", "l1_coeff", "l1_warmup_steps",
                     "threads"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.warmup_frac < 1:
            raise ValueError(f"warmup_frac must be in [0, 1), got {self.warmup_frac}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")

    def resolved(self, input_dim: int) -> SAEConfig:
        """This config for data of width `input_dim`, with n_features made concrete."""
        if self.input_dim and self.input_dim != input_dim:
            raise ValueError(f"sae input_dim {self.input_dim} != data width {input_dim}")
        n_features = self.n_features
        if self.expansion_factor:
            n_features = int(input_dim * self.expansion_factor)
        return replace(self, input_dim=input_dim, n_features=n_features, expansion_factor=0.0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> SAEConfig:
        """Known keys only: saved configs may carry provenance (e.g. imported_from)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})
