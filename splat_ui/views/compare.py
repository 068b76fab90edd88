"""Compare: the selected feature against a second one over all samples (overlap, conditional
firing, correlations, decoder cosine), the activations head to head, and their top tokens."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from splat_core.domain import present
from splat_core.query import MissingAssetError
from splat_ui import data, widgets
from splat_ui.nav import Context, feature_link

MAX_POINTS = 2000


def _default_other(ctx: Context) -> int:
    """The feature's first co-activation neighbour, else the next feature."""
    try:
        rows = [x for x in ctx.reader.neighbors(ctx.f) if x["kind"] == "coactivation"]
    except MissingAssetError:
        rows = []
    return int(rows[0]["neighbor_id"]) if rows else (ctx.f + 1) % ctx.reader.n_features


def _pct(rate: dict) -> str:
    return "-" if rate["p"] is None else f"{100 * rate['p']:.1f}% ± {100 * rate['stderr']:.1f}"


def _num(x, fmt: str = "{:.3f}") -> str:
    return "-" if x is None else fmt.format(x)


def render(ctx: Context) -> None:
    r, f = ctx.reader, ctx.f
    g = int(
        st.number_input(
            f"Compare feature {f} with feature",
            min_value=0,
            max_value=r.n_features - 1,
            value=_default_other(ctx),
            step=1,
            key=f"cmp_{f}_other",
        )
    )
    out = data.compare(r, *data.key(r), f, g, MAX_POINTS)
    feature_link(ctx, g, key=f"cmp_{f}_go", text=f"open {ctx.name(g)}")
    c = out["counts"]
    cols = st.columns(4)
    for col, (name, value) in zip(
        cols,
        (("both fire", c["both"]), (f"only {f}", c["only_f"]), (f"only {g}", c["only_g"]),
         ("neither", c["neither"])),
        strict=True,
    ):  # fmt: skip
        col.metric(name, f"{value:,}")
    cols = st.columns(4)
    cols[0].metric(f"P({g} fires | {f} fires)", _pct(out["p_g_given_f"]))
    cols[1].metric(f"P({f} fires | {g} fires)", _pct(out["p_f_given_g"]))
    cols[2].metric("Jaccard", _num(out["jaccard"]))
    cols[3].metric("decoder cosine", _num(out["decoder_cosine"]))
    st.caption(
        f"Pearson over all samples {_num(out['pearson_all']['r'])} · over the samples where "
        f"both fire {_num(out['pearson_cofiring']['r'])} · {out['population']}"
    )
    left, right = st.columns([3, 2], gap="large")
    with left:
        scatter(out, f, g)
    with right:
        tokens(out, f, g)


def scatter(out: dict, f: int, g: int) -> None:
    pts = out["scatter"]["points"]
    st.markdown(f"**Head to head** · {out['scatter']['note']}")
    if not pts:
        st.caption("neither feature fires")
        return
    fig = go.Figure(
        go.Scatter(
            x=[p["a_f"] for p in pts],
            y=[p["a_g"] for p in pts],
            mode="markers",
            marker={"color": widgets.BLUE, "size": 5, "opacity": 0.5},
            customdata=[p["sample_id"] for p in pts],
            hovertemplate="sample %{customdata}<br>%{x:.4f} vs %{y:.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(title=f"feature {f}")
    fig.update_yaxes(title=f"feature {g}")
    st.plotly_chart(widgets.plot_layout(fig, 380), config=widgets.PLOT, key=f"cmp_sc_{f}_{g}")


def tokens(out: dict, f: int, g: int) -> None:
    tops = out["top_tokens"]
    st.markdown("**Top tokens** (enhancers, shared in bold)")
    if tops["shared"] is None:
        st.caption("feature_tokens is not materialized")
        return
    shared = set(tops["shared"])
    a, b = st.columns(2)
    for col, who, toks in ((a, f, tops["f"]), (b, g, tops["g"])):
        lines = [
            f"**{present.token_name(t)}**" if t in shared else present.token_name(t) for t in toks
        ]
        col.markdown(f"feature {who}  \n" + "  \n".join(lines or ["none"]))
    st.caption(f"{len(shared)} shared of the top {len(tops['f'])} and {len(tops['g'])}")
