"""The encode benchmark's matmul recorder sees every product with its shape."""

from __future__ import annotations

import torch

from splat_cli.bench.encode import matmul_seconds, matmul_shapes


def test_recorder_counts_linear_bmm_and_attention_products():
    linear = torch.nn.Linear(8, 5)
    x = torch.randn(3, 8)
    a, b = torch.randn(4, 2, 6), torch.randn(4, 6, 7)
    q = k = v = torch.randn(2, 3, 5, 4)  # [batch, heads, length, dim]

    def run():
        linear(x)
        linear(x)
        torch.bmm(a, b)
        torch.nn.functional.scaled_dot_product_attention(q, k, v)

    shapes = matmul_shapes(run)
    assert shapes[(1, 3, 8, 5)] == 2
    assert shapes[(4, 2, 6, 7)] == 1
    # attention: Q K^T then P V, over batch x heads = 6 (fused or not: counted once each)
    assert shapes[(6, 5, 4, 5)] == 1 and shapes[(6, 5, 5, 4)] == 1
    assert sum(shapes.values()) == 5


def test_recorder_sees_the_products_inside_fused_attention():
    """nn.MultiheadAttention in inference runs a fused fast path; its products still count."""
    mha = torch.nn.MultiheadAttention(16, 2, batch_first=True).eval()
    x = torch.randn(3, 4, 16)  # 12 tokens; 2 heads of 8 dims
    with torch.inference_mode():
        shapes = matmul_shapes(lambda: mha(x, x, x, need_weights=False))
    flops = sum(2 * n * b * m * k * o for (b, m, k, o), n in shapes.items())
    in_proj, out_proj = 2 * 12 * 16 * 48, 2 * 12 * 16 * 16
    attention = 2 * (2 * 6 * 4 * 8 * 4)  # Q K^T and P V over batch x heads = 6
    assert flops == in_proj + out_proj + attention


def test_matmul_seconds_is_positive_and_grows_with_the_work():
    small = matmul_seconds((1, 16, 16, 16), repeats=3)
    large = matmul_seconds((1, 512, 512, 512), repeats=3)
    assert 0 < small < large
