"""Output influence: the tokens the feature pushes up and down (W_out · its decoder column)."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from splat_core.domain import present
from splat_ui import data, widgets
from splat_ui.nav import Context


def render(ctx: Context) -> None:
    rows = ctx.reader.influence(ctx.f)
    st.markdown(
        "**What the feature does to the model's output** · the logit change of each token per "
        "unit of activation (W_out · decoder column), the strongest of each sign"
    )
    up = [r for r in rows if r["sign"] == "+"]
    down = [r for r in rows if r["sign"] == "-"]
    left, right = st.columns(2)
    with left:
        chart(up, "raises", widgets.BLUE, f"inf_up_{ctx.f}")
    with right:
        chart(down, "lowers", widgets.RED, f"inf_down_{ctx.f}")
    histogram(ctx)


def histogram(ctx: Context) -> None:
    """Every output token's logit change, not only the strongest (investigate/compare.py)."""
    h = data.logit_histogram(ctx.reader, *data.key(ctx.reader), ctx.f, 40)
    st.markdown(
        f"**Over all {h['n_tokens']} output tokens** · mean {h['mean']:+.4f}, "
        f"std {h['std']:.4f}, from {h['min']:+.4f} to {h['max']:+.4f}"
    )
    edges = h["edges"]
    fig = go.Figure(
        go.Bar(
            x=[(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False)],
            y=h["counts"],
            width=[b - a for a, b in zip(edges, edges[1:], strict=False)],
            marker_color=widgets.GREY,
            hovertemplate="%{x:+.4f}: %{y} tokens<extra></extra>",
        )
    )
    fig.update_xaxes(title="logit change per unit activation")
    fig.update_yaxes(title="tokens")
    st.plotly_chart(widgets.plot_layout(fig, 260), config=widgets.PLOT, key=f"inf_hist_{ctx.f}")


def chart(rows: list[dict], verb: str, color: str, key: str) -> None:
    st.markdown(f"**{verb.capitalize()}** ({len(rows)} tokens)")
    if not rows:
        st.caption("none")
        return
    rows = sorted(rows, key=lambda r: abs(r["value"]))  # plotly draws bottom-up
    fig = go.Figure(
        go.Bar(
            x=[r["value"] for r in rows],
            y=[present.token_name(r["token"]) for r in rows],
            orientation="h",
            marker_color=color,
            hovertemplate="%{y}: %{x:+.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(title="logit change per unit activation")
    height = 80 + 22 * len(rows)
    st.plotly_chart(widgets.plot_layout(fig, height), config=widgets.PLOT, key=key)
