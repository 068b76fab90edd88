"""The encode benchmark's matmul recorder sees every product with its shape."""

from __future__ import annotations

import torch

from splat_core.bench.encode import MatmulShapes, matmul_seconds


def test_recorder_counts_linear_bmm_and_attention_products():
    linear = torch.nn.Linear(8, 5)
    x = torch.randn(3, 8)
    a, b = torch.randn(4, 2, 6), torch.randn(4, 6, 7)
    q = k = v = torch.randn(2, 3, 5, 4)  # [batch, heads, length, dim]
    with MatmulShapes() as rec:
        linear(x)
        linear(x)
        torch.bmm(a, b)
        torch.nn.functional.scaled_dot_product_attention(q, k, v)
    assert rec.shapes[(1, 3, 8, 5)] == 2
    assert rec.shapes[(4, 2, 6, 7)] == 1
    # attention: Q K^T then P V, over batch x heads = 6
    assert rec.shapes[(6, 5, 4, 5)] >= 1 and rec.shapes[(6, 5, 5, 4)] >= 1


def test_matmul_seconds_is_positive_and_grows_with_the_work():
    small = matmul_seconds((1, 16, 16, 16), repeats=3)
    large = matmul_seconds((1, 512, 512, 512), repeats=3)
    assert 0 < small < large
