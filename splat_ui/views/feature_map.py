"""Map: every feature's decoder direction in 2-D (the feature_map asset), coloured by its
label, the ability family of its top token or its best explanation's held-out F1; clicking
a point opens that feature."""

from __future__ import annotations

from functools import partial

import plotly.colors
import plotly.graph_objects as go
import streamlit as st

from splat_ui import data, widgets
from splat_ui.nav import Context, goto

COLORS = {
    "family": "top ability family",
    "label": "label",
    "explanation": "explanation F1 (held out)",
}
NONE = "(none)"
PALETTE = plotly.colors.qualitative.Alphabet  # 26 colours: one per ability family


def _open_clicked(key: str) -> None:
    points = st.session_state[key]["selection"]["points"]
    if points:
        goto(int(points[0]["customdata"][0]), "Overview")


def _hover(p: dict) -> str:
    f1 = "-" if p["explanation_f1"] is None else f"{p['explanation_f1']:.3f}"
    rate = "-" if p["firing_rate"] is None else f"{100 * p['firing_rate']:.2f}%"
    return (
        f"<b>#{p['feature_id']}</b> {p['label'] or ''}<br>top token {p['top_token'] or '-'}"
        f"<br>explanation F1 {f1} · fires on {rate}"
    )


def figure(points: list[dict], color: str, f: int) -> go.Figure:
    fig = go.Figure()
    if color == "explanation":
        fig.add_trace(go.Scatter(
            x=[p["x"] for p in points], y=[p["y"] for p in points], mode="markers",
            marker={"size": 8, "color": [p["explanation_f1"] or 0.0 for p in points],
                    "colorscale": "Viridis", "cmin": 0, "cmax": 1,
                    "colorbar": {"title": "F1"}},
            customdata=[[p["feature_id"]] for p in points],
            hovertext=[_hover(p) for p in points], hoverinfo="text", showlegend=False,
        ))  # fmt: skip
    else:
        key = "label" if color == "label" else "family"
        groups: dict[str, list[dict]] = {}
        for p in points:
            groups.setdefault(p[key] or NONE, []).append(p)
        order = sorted(groups, key=lambda n: (n == NONE, -len(groups[n]), n))
        for i, name in enumerate(order):
            part = groups[name]
            colour = widgets.GREY if name == NONE else PALETTE[i % len(PALETTE)]
            fig.add_trace(go.Scatter(
                x=[p["x"] for p in part], y=[p["y"] for p in part], mode="markers", name=name,
                marker={"size": 8, "color": colour},
                customdata=[[p["feature_id"]] for p in part],
                hovertext=[_hover(p) for p in part], hoverinfo="text",
            ))  # fmt: skip
    here = [p for p in points if p["feature_id"] == f]
    if here:
        fig.add_trace(go.Scatter(
            x=[here[0]["x"]], y=[here[0]["y"]], mode="markers", name=f"feature {f}",
            marker={"symbol": "star", "size": 18, "color": widgets.RED,
                    "line": {"width": 1, "color": "black"}},
            customdata=[[f]], hovertext=[_hover(here[0])], hoverinfo="text",
        ))  # fmt: skip
    fig.update_xaxes(showticklabels=False, title=None)
    fig.update_yaxes(showticklabels=False, title=None)
    return fig


def render(ctx: Context) -> None:
    r = ctx.reader
    labels = tuple(sorted((f, x.name) for f, x in ctx.labels.items()))
    out = data.map_points(r, *data.key(r), labels)
    color = st.selectbox(
        "colour by", list(COLORS), format_func=COLORS.get, key="map_color", width=300
    )
    pts = out["points"]
    st.caption(
        f"{out['n_features']:,} features placed by {out['method'] or 'an unknown method'} of "
        f"their decoder directions (similar directions lie near each other); the star is "
        f"feature {ctx.f}. Click a point to open that feature."
    )
    key = "map_chart"
    st.plotly_chart(
        widgets.plot_layout(figure(pts, color, ctx.f), 620, legend={"itemsizing": "constant"}),
        config=widgets.PLOT,
        key=key,
        on_select=partial(_open_clicked, key),
        selection_mode="points",
    )
