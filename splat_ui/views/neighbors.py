"""Neighbors: features with similar decoder directions, and features that fire together."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from splat_core.domain import present
from splat_ui import data
from splat_ui.nav import Context, feature_table

KINDS = [
    ("decoder", "Decoder cosine", "similar decoder columns: they write a similar direction"),
    (
        "coactivation",
        "Co-activation",
        "Jaccard of the firing samples: they fire on the same builds",
    ),
]


def render(ctx: Context) -> None:
    r = ctx.reader
    rows = r.neighbors(ctx.f)
    index = data.features_frame(r, *data.key(r))
    st.caption("Tick a row to go to that feature; ↗ opens it in a new tab.")
    for col, (kind, title, what) in zip(st.columns(2), KINDS, strict=True):
        part = [x for x in rows if x["kind"] == kind]
        with col:
            st.markdown(f"**{title}** · {what}")
            if not part:
                st.caption("none")
                continue
            ids = [x["neighbor_id"] for x in part]
            frame = pd.DataFrame(
                {
                    "feature_id": ids,
                    "label": [ctx.labels[g].name if g in ctx.labels else "" for g in ids],
                    "value": [x["value"] for x in part],
                    "together": [x["n_both"] for x in part],
                    "top token": [present.token_name(index.at[g, "top_token"] or "") for g in ids],
                    "fires on": [index.at[g, "nnz"] for g in ids],
                }
            )
            if kind == "decoder":
                frame = frame.drop(columns="together")
            top = max(abs(v) for v in frame["value"]) or 1.0
            feature_table(
                frame,
                key=f"nb_{kind}_{ctx.f}",
                config={
                    "value": st.column_config.ProgressColumn(
                        "cosine" if kind == "decoder" else "Jaccard",
                        format="%.3f", min_value=0.0, max_value=float(top),
                    ),
                    "together": st.column_config.NumberColumn("samples together"),
                    "fires on": st.column_config.NumberColumn(format="localized"),
                },
            )  # fmt: skip
