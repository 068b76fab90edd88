"""SAEConfig: architecture and training settings of a sparse autoencoder.

Defaults suit the embedded model's 64-d pooled vector with 512 latents. A profile or an
override changes any of them (`sae.k=8`); `resolved(d)` fills in what the data decides.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Literal

from splat_core.choices import Device, check_choices

# The registered architectures (sae/__init__.py registers one class per name; tested).
Arch = Literal["relu", "topk", "batchtopk", "jumprelu", "matryoshka"]
SparsityLoss = Literal["step", "tanh"]


@dataclass(frozen=True)
class SAEConfig:
    # relu (reference-compatible, L1) | topk (Gao et al. 2024, AuxK) | batchtopk (Bussmann et
    # al. 2024) | jumprelu (Rajamanoharan et al. 2024) | matryoshka (Bussmann et al. 2025)
    arch: Arch = "topk"
    input_dim: int = 0  # 0: taken from the data
    n_features: int = 512
    expansion_factor: float = 0.0  # > 0: n_features = int(input_dim * expansion_factor)
    # topk, batchtopk, matryoshka
    k: int = 16  # active latents per sample (batchtopk, matryoshka: on average over a batch)
    aux_k: int = 32  # dead latents used by AuxK (Gao et al.: input_dim / 2)
    aux_coeff: float = 1 / 32
    dead_steps: int = 100  # a latent is dead after this many training steps without firing
    # batchtopk, matryoshka: weight of each batch in the inference threshold's running mean
    topk_threshold_lr: float = 0.01
    # matryoshka: nested prefix widths, strictly increasing, the last = n_features;
    # () = n_features / 8, / 4, / 2, / 1 (filled in by `resolved`)
    matryoshka_widths: tuple[int, ...] = ()
    # jumprelu (pre-activation units; the embedded model's pooled vector has std ~0.8 per dim)
    jumprelu_init_threshold: float = 0.1
    jumprelu_bandwidth: float = 0.05  # width of the rectangle kernel of the pseudo-derivatives
    # tanh (Anthropic, Jan 2025) by measurement on the default profile: with the step (L0)
    # penalty the coefficient barely moves L0 in 5 epochs (L0 55 at 0.05, 0.2 and 1.0: Adam
    # moves a log-threshold at most ~lr a step), while tanh's gradient reaches the encoder
    # (docs/bench/sae-variants-2026-12-01.md)
    jumprelu_sparsity_loss_mode: SparsityLoss = "tanh"  # step: L0 | tanh
    jumprelu_tanh_scale: float = 4.0  # c in tanh(c * h_f * ||d_f||)
    # on mean_batch(sum_f penalty_f), MSE / Var(x) being O(1); 0.02 gives L0 ~16 (k of the
    # other architectures) on the default profile
    l0_coefficient: float = 0.02
    l0_warm_up_steps: int = 0  # linear ramp of l0_coefficient from 0
    pre_act_loss_coefficient: float = 0.0  # Anthropic's relu(threshold - h_pre) ||d_f||; 0: off
    # relu
    # the reference's ReLU6-style cap on activations; 0: none (an uncapped relu is exactly
    # SAELens' `standard`, so `splat export sae --format saelens` is exact for it)
    relu_act_cap: float = 6.0
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
        # JSON and overrides give lists; a frozen config holds a tuple
        object.__setattr__(self, "matryoshka_widths", tuple(self.matryoshka_widths))
        for name in ("n_features", "k", "aux_k", "dead_steps", "batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("input_dim", "expansion_factor", "aux_coeff", "l1_coeff", "l1_warmup_steps",
                     "threads", "l0_coefficient", "l0_warm_up_steps",
                     "pre_act_loss_coefficient", "relu_act_cap"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("jumprelu_init_threshold", "jumprelu_bandwidth", "jumprelu_tanh_scale"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0 < self.topk_threshold_lr <= 1:
            raise ValueError(f"topk_threshold_lr must be in (0, 1], got {self.topk_threshold_lr}")
        self.check_matryoshka_widths()
        if not 0 <= self.warmup_frac < 1:
            raise ValueError(f"warmup_frac must be in [0, 1), got {self.warmup_frac}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")

    def check_matryoshka_widths(self) -> None:
        widths = self.matryoshka_widths
        if not widths:
            return
        if any(not isinstance(w, int) or isinstance(w, bool) for w in widths):
            raise ValueError(f"matryoshka_widths must be integers, got {widths}")
        if any(b <= a for a, b in zip(widths, widths[1:], strict=False)):
            raise ValueError(f"matryoshka_widths must be strictly increasing, got {widths}")
        if widths[0] < 1:
            raise ValueError(f"matryoshka_widths must be >= 1, got {widths}")
        concrete = self.arch == "matryoshka" and self.expansion_factor == 0
        if concrete and widths[-1] != self.n_features:
            raise ValueError(
                f"the last matryoshka width must be n_features={self.n_features}, got {widths}"
            )

    def resolved(self, input_dim: int) -> SAEConfig:
        """This config for data of width `input_dim`, with n_features made concrete."""
        if self.input_dim and self.input_dim != input_dim:
            raise ValueError(f"sae input_dim {self.input_dim} != data width {input_dim}")
        n_features = self.n_features
        if self.expansion_factor:
            n_features = int(input_dim * self.expansion_factor)
        widths = self.matryoshka_widths
        if self.arch == "matryoshka" and not widths:
            widths = default_matryoshka_widths(n_features)
        return replace(self, input_dim=input_dim, n_features=n_features, expansion_factor=0.0,
                       matryoshka_widths=widths)  # fmt: skip

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> SAEConfig:
        """Known keys only: saved configs may carry provenance (e.g. imported_from)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


def default_matryoshka_widths(n_features: int) -> tuple[int, ...]:
    """n_features / 8, / 4, / 2, / 1 (duplicates and zeros dropped for tiny dictionaries)."""
    return tuple(sorted({w for w in (n_features // 8, n_features // 4, n_features // 2,
                                     n_features) if w >= 1}))  # fmt: skip
