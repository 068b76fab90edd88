"""Steer: clamp, scale or add the feature in the SAE reconstruction of one of its top
examples (or add α·its decoder direction to the raw pooled vector), re-run the output layer,
and see which predictions move and what the model would now add to the build."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from splat_core.domain import present
from splat_ui import data
from splat_ui.nav import Context

OPS = {
    "scale": "scale the activation by",
    "clamp": "clamp the activation to",
    "add": "add to the activation",
    "direct": "add α · decoder direction to the pooled vector, α =",
}


def _range(op: str, m: float) -> tuple[float, float, float, float]:
    """(low, high, default, step) of the slider; m the example's activation."""
    return {
        "scale": (-2.0, 5.0, 0.0, 0.05),
        "clamp": (0.0, 4 * m, 0.0, m / 20),
        "add": (-2 * m, 4 * m, m, m / 20),
        "direct": (-4 * m, 4 * m, m, m / 20),
    }[op]


def _tokens(tokens: list[str]) -> str:
    return ", ".join(present.token_name(t) for t in tokens) or "nothing"


def render(ctx: Context) -> None:
    r, f = ctx.reader, ctx.f
    starts = {
        f"top example #{e['rank']} ({e['activation']:.4f})": e
        for e in data.top_examples(r, *data.key(r), f, 10)
    }
    if not starts:
        st.info(f"Feature {f} has no examples to steer.")
        return
    left, right = st.columns([2, 3], gap="large")
    with left:
        start = starts[st.selectbox("example", list(starts), key=f"st_{f}_start")]
        st.caption(f"{start['weapon']} · {' · '.join(start['build']) or 'no abilities'}")
        op = st.radio("edit", list(OPS), key=f"st_{f}_op", horizontal=True)
        low, high, default, step = _range(op, max(float(start["activation"]), 1e-3))
        value = st.slider(OPS[op], low, high, default, step=step, key=f"st_{f}_{op}")
    edits = ((f, op, float(value)),)
    res = data.steer(r, *data.key(r), start["weapon_id"], tuple(start["tokens"]), edits)
    with right:
        results(f, res)


def results(f: int, res: dict) -> None:
    feat = res["features"][0]
    a, b = st.columns(2)
    a.metric(f"feature {f}", f"{feat['after']:.4f}", f"{feat['after'] - feat['before']:+.4f}")
    b.metric("completion changes", len(res["added"]) + len(res["removed"]))
    st.markdown(
        f"**Completed build** (tokens above 0.5 not in the input)  \n"
        f"before: {_tokens(res['completion_before'])}  \n"
        f"after: {_tokens(res['completion_after'])}  \n"
        f"added: {_tokens(res['added'])} · removed: {_tokens(res['removed'])}"
    )
    st.caption(
        "The SAE's reconstruction error is kept: with no change the model's own output "
        "comes back exactly."
    )
    rows = pd.DataFrame(res["changes"][:15])
    rows["token"] = rows["token"].map(present.token_name)
    st.dataframe(
        rows[["token", "before", "after", "delta"]],
        hide_index=True,
        height="content",
        column_config={
            "before": st.column_config.NumberColumn(format="%.3f"),
            "after": st.column_config.ProgressColumn(format="%.3f", min_value=0, max_value=1),
            "delta": st.column_config.NumberColumn("change", format="%+.3f"),
        },
    )
