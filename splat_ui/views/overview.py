"""Overview: the label, the statistics and the activation histogram."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from splat_core.domain import present
from splat_core.investigate import explorer
from splat_ui import widgets
from splat_ui.nav import Context

STATS = [
    ("nnz", "firing samples"),
    ("density", "density"),
    ("mean_nonzero", "mean (firing)"),
    ("std_nonzero", "std (firing)"),
    ("min", "min (firing)"),
    ("p50", "median"),
    ("p90", "p90"),
    ("p99", "p99"),
    ("p99_5", "p99.5"),
    ("max", "max"),
    ("mean_all", "mean (all samples)"),
]


def render(ctx: Context) -> None:
    r, f = ctx.reader, ctx.f
    stats = r.stats(f)
    nnz, n = int(r.feature_counts()[f]), r.n_samples
    label = ctx.labels.get(f)
    if label and label.notes:
        st.caption(f":material/edit_note: {label.notes}")
    a, b, c, d = st.columns(4)
    a.metric(
        "fires on",
        f"{nnz:,}",
        f"{present.share(nnz / n)} of {n:,} samples",
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    if not stats:
        st.warning("feature_stats holds no row for this feature; no statistics to show.")
    else:
        b.metric("mean when firing", f"{stats['mean_nonzero']:.4f}", border=True)
        c.metric("max", f"{stats['max']:.4f}", border=True)
        d.metric(
            "p99.5",
            f"{stats['p99_5']:.4f}",
            border=True,
            help="the effective max: robust to a few outliers",
        )
    left, right = st.columns([1, 2])
    with left:
        st.markdown("**Statistics** (nonzero values unless noted)")
        rows = [{"statistic": name, "value": _fmt(k, stats.get(k))} for k, name in STATS if stats]
        st.dataframe(rows, hide_index=True, width="stretch", height="content")
    with right:
        histogram(ctx, nnz, n)
    glance(ctx)


def _fmt(key: str, value) -> str:
    if value is None:
        return "—"
    if key == "nnz":
        return f"{int(value):,}"
    return present.share(value) if key == "density" else f"{value:.4f}"


def histogram(ctx: Context, nnz: int, n: int) -> None:
    top, opt = st.columns([3, 2])
    top.markdown("**Activation histogram**")
    mode = opt.segmented_control(
        "samples",
        ["nonzero", "all"],
        default="nonzero",
        key=f"hist_mode_{ctx.f}",
        label_visibility="collapsed",
        format_func=lambda m: "nonzero only" if m == "nonzero" else "all samples",
    )
    rows = ctx.reader.histogram(ctx.f)
    if not rows:
        st.info("The feature never fires: its histogram is empty.")
        return
    bars = explorer.histogram_bars(rows, n, nnz, zeros=mode == "all")
    width = max(b["hi"] - b["lo"] for b in bars if not b["zero"]) or 1.0
    fig = go.Figure(
        go.Bar(
            x=[(b["lo"] + b["hi"]) / 2 if not b["zero"] else 0.0 for b in bars],
            y=[b["count"] for b in bars],
            width=[b["hi"] - b["lo"] if not b["zero"] else width for b in bars],
            marker_color=[widgets.GREY if b["zero"] else widgets.BLUE for b in bars],
            customdata=[[b["lo"], b["hi"]] for b in bars],
            hovertemplate="[%{customdata[0]:.4f}, %{customdata[1]:.4f}]: %{y:,} samples"
            "<extra></extra>",
        )
    )
    fig.update_yaxes(type="log" if mode == "all" else "linear", title="samples")
    fig.update_xaxes(title="activation")
    st.plotly_chart(widgets.plot_layout(fig, 300), config=widgets.PLOT, key=f"hist_{ctx.f}")
    if mode == "all":
        st.caption(f"grey: the {n - nnz:,} samples where it does not fire (log scale)")


def glance(ctx: Context) -> None:
    """The first lines of the other views, to see at once what the feature is about."""
    r, f = ctx.reader, ctx.f
    tokens = [t for t in r.tokens(f) if t["kind"] == "enhancer"][:5]
    weapons = [w for w in r.weapons(f) if w["kind"] == "weapon"][:5]
    pushes = [i for i in r.influence(f) if i["sign"] == "+"][:5]
    a, b, c = st.columns(3)
    a.markdown("**Enriched tokens**")
    for t in tokens:
        ratio = present.enrichment_ratio(t["enrichment"])
        a.markdown(f"- {present.token_name(t['token'])} · {ratio:.1f}× as often")
    b.markdown("**Weapons**")
    for w in weapons:
        b.markdown(f"- {w['name']} · {w['rate_top']:.0%} of the top")
    c.markdown("**Pushes the model towards**")
    for i in pushes:
        c.markdown(f"- {present.token_name(i['token'])} · {i['value']:+.3f}")
