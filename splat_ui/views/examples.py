"""Top examples: the samples the feature fires on most, each build as a person reads it."""

from __future__ import annotations

import streamlit as st

from splat_ui import data, widgets
from splat_ui.nav import Context


def render(ctx: Context) -> None:
    r, f = ctx.reader, ctx.f
    head, opt = st.columns([4, 1])
    k = opt.selectbox("examples", [20, 50, 100, 200], key=f"top_k_{f}")
    rows = data.top_examples(r, *data.key(r), f, k)
    head.markdown(
        f"**The {len(rows)} highest activations** · each ability at the highest AP rung the "
        "sample holds; \\* marks a partial build that lacks some lower rungs (see its tokens)"
    )
    top = rows[0]["activation"] if rows else None
    widgets.examples_table(rows, top, key=f"top_table_{f}")
