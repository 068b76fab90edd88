"""Set Transformer building blocks (Lee et al. 2019), laid out as SplatNLP's checkpoints.

Attribute names and nesting are a contract: they fix the state_dict keys of real
checkpoints (see tests/fixtures/reference_checkpoint/README.md).
"""

from __future__ import annotations

import torch
from torch import nn


class MultiheadAttentionBlock(nn.Module):
    """MAB(Q, K) = post-norm(h + FF(h)), h = post-norm(Q + Attn(Q, K, K))."""

    def __init__(self, dim: int, num_heads: int, use_layer_norm: bool, dropout: float):
        super().__init__()
        self.mha = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)
        self.feedforward = nn.Sequential(
            nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim)
        )
        self.use_layer_norm = use_layer_norm
        if use_layer_norm:
            self.layer_norm1 = nn.LayerNorm(dim)
            self.layer_norm2 = nn.LayerNorm(dim)

    def forward(self, query, key, key_padding_mask=None):
        attended, _ = self.mha(
            query, key, key, key_padding_mask=key_padding_mask, need_weights=False
        )
        h = query + attended
        if self.use_layer_norm:
            h = self.layer_norm1(h)
        out = h + self.feedforward(h)
        if self.use_layer_norm:
            out = self.layer_norm2(out)
        return out


class SelfAttentionBlock(nn.Module):
    """SAB(X) = MAB(X, X)."""

    def __init__(self, dim: int, num_heads: int, use_layer_norm: bool, dropout: float):
        super().__init__()
        self.mab = MultiheadAttentionBlock(dim, num_heads, use_layer_norm, dropout)

    def forward(self, x, key_padding_mask=None):
        return self.mab(x, x, key_padding_mask=key_padding_mask)


class InducedSetAttentionBlock(nn.Module):
    """ISAB(X) = LN(MAB(X, MAB(I, X)) + X) with m learned inducing points I."""

    def __init__(self, dim, num_heads, num_inducing_points, use_layer_norm, dropout):
        super().__init__()
        self.inducing_points = nn.Parameter(torch.empty(num_inducing_points, dim))
        nn.init.xavier_uniform_(self.inducing_points)
        self.mab1 = MultiheadAttentionBlock(dim, num_heads, use_layer_norm, dropout)
        self.mab2 = MultiheadAttentionBlock(dim, num_heads, use_layer_norm, dropout)
        self.layer_norm = nn.LayerNorm(dim)  # unconditional in the reference

    def forward(self, x, key_padding_mask=None):
        points = self.inducing_points.unsqueeze(0).expand(x.size(0), -1, -1)
        h = self.mab1(points, x, key_padding_mask=key_padding_mask)
        return self.layer_norm(self.mab2(x, h) + x)  # h has no padding


class PoolingMultiheadAttention(nn.Module):
    """PMA(X) = Linear(MAB(S, X)) with k learned seed vectors S."""

    def __init__(self, dim, num_heads, num_seeds, use_layer_norm, dropout):
        super().__init__()
        self.seed_vectors = nn.Parameter(torch.empty(num_seeds, dim))
        nn.init.xavier_uniform_(self.seed_vectors)
        self.mab = MultiheadAttentionBlock(dim, num_heads, use_layer_norm, dropout)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x, key_padding_mask=None):
        seeds = self.seed_vectors.unsqueeze(0).expand(x.size(0), -1, -1)
        return self.out_proj(self.mab(seeds, x, key_padding_mask=key_padding_mask))


class SetTransformer(nn.Module):
    """Two ISABs (each with an extra residual), PMA to k seeds, two SABs: [B,L,D] -> [B,k,D]."""

    def __init__(self, dim, num_heads, num_inducing_points, use_layer_norm, dropout):
        super().__init__()
        args = (dim, num_heads, num_inducing_points, use_layer_norm, dropout)
        self.enc_layer1 = InducedSetAttentionBlock(*args)
        self.enc_layer2 = InducedSetAttentionBlock(*args)
        self.dec_layer1 = PoolingMultiheadAttention(*args)
        self.dec_layer2 = SelfAttentionBlock(dim, num_heads, use_layer_norm, dropout)
        self.dec_layer3 = SelfAttentionBlock(dim, num_heads, use_layer_norm, dropout)

    def forward(self, x, key_padding_mask=None):
        x = self.enc_layer1(x, key_padding_mask) + x
        x = self.enc_layer2(x, key_padding_mask) + x
        s = self.dec_layer1(x, key_padding_mask)
        s = self.dec_layer2(s) + s
        return self.dec_layer3(s) + s


class SetTransformerLayer(nn.Module):
    """Summarise the set into k seeds, then let every token attend to the summary; then FF."""

    def __init__(self, dim, num_heads, num_inducing_points, use_layer_norm, dropout):
        super().__init__()
        self.set_transformer = SetTransformer(
            dim, num_heads, num_inducing_points, use_layer_norm, dropout
        )
        self.cross_attention = MultiheadAttentionBlock(dim, num_heads, use_layer_norm, dropout)
        self.feedforward = nn.Sequential(
            nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim)
        )
        self.use_layer_norm = use_layer_norm
        if use_layer_norm:
            self.layer_norm1 = nn.LayerNorm(dim)
            self.layer_norm2 = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, key_padding_mask=None):
        summary = self.set_transformer(x, key_padding_mask)
        x = x + self.dropout(self.cross_attention(x, summary))
        if self.use_layer_norm:
            x = self.layer_norm1(x)
        x = x + self.dropout(self.feedforward(x))
        if self.use_layer_norm:
            x = self.layer_norm2(x)
        return x
