"""Sweeps: the feature's activation by the AP rung of one family, and of two (a heatmap)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from splat_core.domain import present
from splat_core.domain.vocab import ABILITIES, STANDARD
from splat_core.investigate.names import ability_of
from splat_ui import data, widgets
from splat_ui.nav import Context

POPULATIONS = {"all": "all samples", "firing": "firing samples only"}


def render(ctx: Context) -> None:
    r, f = ctx.reader, ctx.f
    likely = _likely_families(ctx)
    head, opt = st.columns([3, 2])
    head.markdown("**Activation by AP rung** · observational: grouped stored samples")
    pop = (
        opt.segmented_control(
            "population",
            list(POPULATIONS),
            default="all",
            format_func=POPULATIONS.get,
            key=f"sweep_pop_{f}",
            label_visibility="collapsed",
        )
        or "all"
    )
    family = st.selectbox(
        "family",
        ABILITIES,
        index=ABILITIES.index(likely[0]),
        format_func=present.ability_name,
        key=f"sweep_family_{f}",
    )
    one(data.family_sweep(r, *data.key(r), f, family, pop), f)
    st.divider()
    st.markdown("**Two families** · mean activation per pair of rungs (cell text: samples)")
    a, b = st.columns(2)
    x = a.selectbox(
        "x",
        STANDARD,
        index=STANDARD.index(likely[1]),
        key=f"hm_x_{f}",
        format_func=present.ability_name,
    )
    y = b.selectbox(
        "y",
        STANDARD,
        index=STANDARD.index(likely[2]),
        key=f"hm_y_{f}",
        format_func=present.ability_name,
    )
    if x == y:
        st.info("Choose two different families.")
        return
    two(data.heatmap(r, *data.key(r), f, x, y, pop), f)


def _likely_families(ctx: Context) -> list[str]:
    """The families of the feature's enhancer tokens first (then the rest): good defaults."""
    seen = [ability_of(t["token"])[0] for t in ctx.reader.tokens(ctx.f)]
    families = [a for a in dict.fromkeys(seen) if a in STANDARD]
    return families + [a for a in STANDARD if a not in families]


def one(sweep: dict, f: int) -> None:
    rows = sweep["rows"]
    if not rows:
        st.info("No samples in this population.")
        return
    labels = ["absent" if x["rung"] == 0 else str(x["rung"]) for x in rows]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=[x["mean"] for x in rows],
            error_y={"type": "data", "array": [x["stderr"] or 0 for x in rows]},
            marker_color=[widgets.BLUE if x["reliable"] else widgets.GREY for x in rows],
            customdata=[[x["n"], x["firing_rate"] or 0, x["mean_firing"] or 0] for x in rows],
            hovertemplate="%{x}: mean %{y:.4f}<br>%{customdata[0]:,} samples, firing "
            "%{customdata[1]:.1%}, mean when firing %{customdata[2]:.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(
        title=f"{present.ability_name(sweep['family'])} (highest rung held)", type="category"
    )
    fig.update_yaxes(title="mean activation")
    st.plotly_chart(widgets.plot_layout(fig, 300), config=widgets.PLOT, key=f"sweep_{f}")
    peak = sweep["peak"]
    if peak:
        st.caption(
            f"{sweep['population']}; peak {peak['label']}: {peak['delta']:+.4f} vs absent "
            f"({peak['n']:,} samples); grey bars: under 20 samples"
        )


def two(hm: dict, f: int) -> None:
    xs, ys = hm["x_bins"], hm["y_bins"]
    z = np.full((len(ys), len(xs)), np.nan)
    n = np.zeros((len(ys), len(xs)), dtype=int)
    for c in hm["cells"]:
        i, j = ys.index(c["y_rung"]), xs.index(c["x_rung"])
        z[i, j], n[i, j] = c["mean"], c["n"]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(v) for v in xs],
            y=[str(v) for v in ys],
            text=[[f"{v:,}" if v else "" for v in row] for row in n],
            texttemplate="%{text}",
            colorscale="Blues",
            hovertemplate=f"{hm['x']} %{{x}} × {hm['y']} %{{y}}: mean %{{z:.4f}} "
            "(%{text} samples)<extra></extra>",
            colorbar={"title": "mean"},
        )
    )
    fig.update_xaxes(title=present.ability_name(hm["x"]), type="category")
    fig.update_yaxes(title=present.ability_name(hm["y"]), type="category")
    st.plotly_chart(widgets.plot_layout(fig, 420), config=widgets.PLOT, key=f"heatmap_{f}")
    if hm["peak"]:
        p = hm["peak"]
        st.caption(
            f"peak ({p['x_rung']}, {p['y_rung']}): mean {p['mean']:.4f} over {p['n']:,} samples"
        )
