"""SAEs: the home's SAE variants side by side (the `sae_comparison` asset): each one's
quality, the Pareto plot of mean L0 against explained variance, and a pair's features matched
(one-to-one, split, absorbed, ...) with both sides' top tokens and buttons that open either
feature in its variant."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from splat_core.investigate import sae_compare
from splat_core.query import MissingAssetError
from splat_ui import data
from splat_ui.nav import FEATURE, SAE, VIEW, Context

LIMIT = 20
COLUMNS = ["sae", "arch", "n_features", "k", "explained_variance", "loss_recovered", "mean_l0",
           "dead_fraction", "auroc_min", "auroc_median", "mean_absorption_rate",
           "pareto"]  # fmt: skip


def open_in(sae: str, f: int) -> None:
    """Widget callback: show feature f of variant `sae` (the sidebar's SAE picker)."""
    st.session_state[SAE] = sae
    st.session_state[FEATURE] = int(f)
    st.session_state[VIEW] = "Overview"


def render(ctx: Context) -> None:
    try:
        comparison = ctx.reader.sae_comparison()
    except MissingAssetError:
        st.info("No SAE comparison here: materialize `sae_comparison` (with two SAE variants "
                "or more) to compare them.")  # fmt: skip
        return
    rows = sae_compare.variant_rows(comparison)
    pairs = sae_compare.pairs(comparison)
    if len(rows) < 2 or not pairs:
        st.info("This home has one SAE variant: there is nothing to compare it with.")
        return
    st.markdown(
        "**SAE variants** · measured on every pooled vector (loss recovered on held-out "
        "builds, as the `sae` asset measures it) · pareto: no other is sparser and better"
    )
    frame = pd.DataFrame(rows)
    st.dataframe(frame[[c for c in COLUMNS if c in frame]], hide_index=True, key="saes_variants")
    pareto(rows)
    st.divider()
    pair_view(ctx, comparison, pairs)


def pareto(rows: list[dict]) -> None:
    """Mean L0 against loss recovered (explained variance where it was not measured)."""
    y = "loss_recovered" if all(r.get("loss_recovered") is not None for r in rows) else (
        "explained_variance")  # fmt: skip
    fig = go.Figure(go.Scatter(
        x=[r["mean_l0"] for r in rows], y=[r[y] for r in rows],
        text=[r["sae"] for r in rows], mode="markers+text", textposition="top center",
        marker={"size": 11, "color": ["#1f77b4" if r["pareto"] else "#aaaaaa" for r in rows]},
        hovertemplate="%{text}<br>mean L0 %{x:.2f}<br>" + y + " %{y:.3f}<extra></extra>",
    ))  # fmt: skip
    fig.update_layout(xaxis_title="mean L0 (active latents per sample)",
                      yaxis_title=y.replace("_", " "), height=360,
                      margin={"l": 10, "r": 10, "t": 20, "b": 10})  # fmt: skip
    st.plotly_chart(fig, key="saes_pareto")


def pair_view(ctx: Context, comparison, pairs: list[tuple[str, str]]) -> None:
    left, right = st.columns(2)
    a = left.selectbox("SAE A", list(dict.fromkeys(x for x, _ in pairs)), key="saes_a")
    b = right.selectbox("SAE B", [y for x, y in pairs if x == a], key="saes_b")
    s = sae_compare.pair_summary(comparison, a, b)
    st.markdown(f"**{a}** ({s['n_features'][0]} features) matched in **{b}** "
                f"({s['n_features'][1]} features): each feature of {a} by category")  # fmt: skip
    counts = s["counts"]
    for col, (category, n) in zip(st.columns(len(counts)), counts.items(), strict=True):
        col.metric(category, f"{n:,}")
    cols = st.columns(4)
    cols[0].metric("MMCS", _num(s["mmcs"]), help="mean over live A features of the largest "
                   "decoder cosine with a B feature")  # fmt: skip
    cols[1].metric("mean max correlation", _num(s["mean_max_correlation"]))
    for col, side in zip(cols[2:], (a, b), strict=True):
        col.metric(f"absorption · {side}", _num(s["absorption"][side]["mean_absorption_rate"]),
                   help="mean absorption rate over the rung families measured")  # fmt: skip
    present = [c for c, n in counts.items() if n] or list(counts)
    category = st.selectbox("Category", present, key=f"saes_category_{a}_{b}",
                            format_func=lambda c: f"{c} ({counts[c]:,})")  # fmt: skip
    readers = {name: data.reader(name) for name in (a, b)}
    versions = tuple(data.key(r)[1] for r in readers.values())
    rows = data.sae_category_rows(readers, str(ctx.reader.home), versions, a, b, category, LIMIT)
    st.caption(f"{len(rows)} of {counts[category]:,} features of {a} in `{category}`, most "
               f"often firing first; B = its first match in {b}")  # fmt: skip
    for row in rows:
        matches(row, a, b)


def matches(row: dict, a: str, b: str) -> None:
    fa, fb = row["feature_a"], row["feature_b"]
    cols = st.columns([2, 4, 2, 4, 3], vertical_alignment="center")
    cols[0].button(f"{a} #{fa}", key=f"saes_open_a_{a}_{b}_{fa}", on_click=open_in,
                   args=(a, fa), type="tertiary", help=f"open feature {fa} of {a}")  # fmt: skip
    cols[1].caption(", ".join(row.get("tokens_a", [])) or "-")
    if fb >= 0:
        cols[2].button(f"{b} #{fb}", key=f"saes_open_b_{a}_{b}_{fa}", on_click=open_in,
                       args=(b, fb), type="tertiary", help=f"open feature {fb} of {b}")  # fmt: skip
        cols[3].caption(", ".join(row.get("tokens_b", [])) or "-")
    else:
        cols[2].caption("no match")
    others = len(row["matched_b"]) - 1
    more = f" · +{others} more" if others > 0 else ""
    cols[4].caption(f"cos {_num(row['cosine'])} · r {_num(row['correlation'])} · "
                    f"fires {row['n_fire']:,}{more}")  # fmt: skip


def _num(x, fmt: str = "{:.3f}") -> str:
    return "-" if x is None else fmt.format(x)
