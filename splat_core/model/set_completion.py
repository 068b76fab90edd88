"""SetCompletionModel: weapon + partial ability set -> logits over the whole ability vocab."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from splat_core.model.layers import SetTransformerLayer


@dataclass(frozen=True)
class ModelParams:
    """Constructor arguments, exactly the keys of a reference model_params.json."""

    vocab_size: int
    weapon_vocab_size: int
    embedding_dim: int = 32
    hidden_dim: int = 512
    output_dim: int | None = None  # defaults to vocab_size
    num_layers: int = 2
    num_heads: int = 4
    num_inducing_points: int = 32
    use_layer_norm: bool = False
    dropout: float = 0.0
    pad_token_id: int | None = None

    @classmethod
    def from_dict(cls, raw: dict) -> ModelParams:
        known = cls.__dataclass_fields__
        # Reference writers add keys the constructor ignores (e.g. use_mixed_precision).
        params = cls(**{k: v for k, v in raw.items() if k in known})
        if params.output_dim is None:
            params = cls(**{**asdict(params), "output_dim": params.vocab_size})
        if params.hidden_dim % params.num_heads:
            raise ValueError(
                f"hidden_dim {params.hidden_dim} is not divisible by num_heads {params.num_heads}"
            )
        return params

    def to_dict(self) -> dict:
        return asdict(self)


class SetCompletionModel(nn.Module):
    """Embeds abilities (+ the weapon, added at every position), runs set-transformer layers,
    pools with a masked mean (the SAE's hook point) and maps to one logit per token."""

    def __init__(
        self,
        vocab_size: int,
        weapon_vocab_size: int,
        embedding_dim: int,
        hidden_dim: int,
        output_dim: int,
        num_layers: int = 2,
        num_heads: int = 4,
        num_inducing_points: int = 32,
        use_layer_norm: bool = False,
        dropout: float = 0.0,
        pad_token_id: int | None = None,
    ):
        super().__init__()
        self.pad_token_id = pad_token_id
        self.ability_embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_token_id)
        self.weapon_embedding = nn.Embedding(weapon_vocab_size, embedding_dim)
        if embedding_dim != hidden_dim:
            self.input_proj = nn.Linear(embedding_dim, hidden_dim)
        else:
            self.input_proj = nn.Identity()
        self.transformer_layers = nn.ModuleList(
            SetTransformerLayer(hidden_dim, num_heads, num_inducing_points, use_layer_norm, dropout)
            for _ in range(num_layers)
        )
        self.output_layer = nn.Linear(hidden_dim, output_dim)

    @classmethod
    def from_params(cls, params: ModelParams) -> SetCompletionModel:
        return cls(**params.to_dict())

    def padding_mask(self, ability_tokens: torch.Tensor) -> torch.Tensor:
        if self.pad_token_id is None:
            return torch.zeros_like(ability_tokens, dtype=torch.bool)
        return ability_tokens == self.pad_token_id

    def pooled(self, ability_tokens, weapon_token, key_padding_mask=None) -> torch.Tensor:
        """The masked-mean vector [B, hidden_dim]: the input of `output_layer`."""
        if key_padding_mask is None:
            key_padding_mask = self.padding_mask(ability_tokens)
        x = self.ability_embedding(ability_tokens)
        x = x + self.weapon_embedding(weapon_token).expand_as(x)
        x = self.input_proj(x)
        for layer in self.transformer_layers:
            x = layer(x, key_padding_mask)
        return masked_mean(x, key_padding_mask)

    def forward(self, ability_tokens, weapon_token, key_padding_mask=None) -> torch.Tensor:
        """Logits [B, output_dim]. `key_padding_mask` is True at <PAD> positions."""
        return self.output_layer(self.pooled(ability_tokens, weapon_token, key_padding_mask))


def masked_mean(x: torch.Tensor, key_padding_mask: torch.Tensor) -> torch.Tensor:
    valid = (~key_padding_mask).unsqueeze(-1).to(x.dtype)
    return (x * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1)
