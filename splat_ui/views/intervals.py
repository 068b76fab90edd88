"""The intervals grid: examples across the whole activation range, not only the top."""

from __future__ import annotations

import streamlit as st

from splat_ui import data, widgets
from splat_ui.nav import Context


def render(ctx: Context) -> None:
    r, f = ctx.reader, ctx.f
    head, a, b, c = st.columns([3, 1, 1, 1])
    head.markdown(
        "**Examples by activation quantile**, highest bin first: does the weakest firing look "
        "like the strongest?"
    )
    n_bins = a.selectbox("bins", [4, 6, 8, 10, 12], index=2, key=f"bins_{f}")
    per_bin = b.selectbox("per bin", [3, 5, 8, 12], index=1, key=f"per_bin_{f}")
    seed = c.number_input("seed", 0, 10_000, 0, key=f"seed_{f}")
    groups = data.quantile_examples(r, *data.key(r), f, n_bins, per_bin, int(seed))
    if not groups:
        st.info("No examples: this feature never fires.")
        return
    top = max(row["activation"] for g in groups for row in g["rows"])
    for g in groups:
        st.markdown(
            f"###### Bin {g['bin'] + 1} of {n_bins} · activation {g['lo']:.4f} – {g['hi']:.4f}"
        )
        widgets.examples_table(g["rows"], top, kit=False, key=f"bin_{f}_{g['bin']}")
