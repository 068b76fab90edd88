"""All features: a sortable, filterable table; pick a row to open that feature."""

from __future__ import annotations

import streamlit as st

from splat_core.domain import present
from splat_ui import data
from splat_ui.nav import Context, feature_table

TABLE = "features_table"


def render(ctx: Context) -> None:
    r = ctx.reader
    frame = data.features_frame(r, *data.key(r)).copy()
    frame["label"] = [ctx.labels[f].name if f in ctx.labels else "" for f in frame.index]
    frame["category"] = [ctx.labels[f].category if f in ctx.labels else "" for f in frame.index]
    frame["top_token"] = [present.token_name(t) if t else "" for t in frame["top_token"]]
    a, b, c = st.columns([3, 1, 1])
    text = a.text_input(
        "filter",
        placeholder="label or token text",
        key="features_filter",
        label_visibility="collapsed",
    )
    live = b.toggle("firing only", value=True, key="features_live")
    todo = c.toggle("unlabelled only", key="features_todo")
    where = st.text_input(
        "SQL condition",
        placeholder="SQL condition, e.g. density BETWEEN 0.01 AND 0.1 AND name IS NULL",
        key="features_sql",
        label_visibility="collapsed",
        help="A DuckDB WHERE condition over the columns of feature_stats and labels; "
        "subqueries may read any view (`splat sql --schema`), e.g. feature_id IN (SELECT "
        "feature_id FROM feature_tokens WHERE token = 'swim_speed_up_21' AND rank <= 3)",
    )
    if where.strip():
        try:
            frame = frame[frame.index.isin(data.features_where(r, where))]
        except ValueError as e:  # DuckDB refused it: its message, the table unfiltered
            st.error(str(e))
    if text:
        needle = text.casefold()
        hay = (frame["label"] + " " + frame["top_token"]).str.casefold()
        frame = frame[hay.str.contains(needle, regex=False)]
    if live:
        frame = frame[frame["nnz"] > 0]
    if todo:
        frame = frame[frame["label"] == ""]
    n_dead = int((data.features_frame(r, *data.key(r))["nnz"] == 0).sum())
    st.caption(
        f"{len(frame):,} of {r.n_features:,} features shown · {n_dead:,} never fire · "
        f"{len(ctx.labels):,} labelled · tick a row to open it; headers sort"
    )
    frame = frame.reset_index()[
        ["feature_id", "label", "category", "nnz", "density", "max", "top_token"]
    ]
    feature_table(
        frame,
        key=f"{TABLE}_{ctx.f}",  # a fresh selection after each move
        height=560,
        config={
            "nnz": st.column_config.NumberColumn("firing samples", format="localized"),
            "density": st.column_config.NumberColumn("density", format="percent"),
            "max": st.column_config.NumberColumn("max", format="%.3f"),
            "top_token": "top token",
        },
    )
