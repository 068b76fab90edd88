"""Top examples: the samples the feature fires on most, each build as a person reads it;
identical inputs grouped, the full build of one, and samples where it does not fire."""

from __future__ import annotations

import streamlit as st

from splat_core.domain import present
from splat_ui import data, widgets
from splat_ui.nav import Context


def render(ctx: Context) -> None:
    r, f = ctx.reader, ctx.f
    firing, quiet = st.tabs(["firing", "not firing"])
    with firing:
        head, opt, grp = st.columns([4, 1, 1])
        k = opt.selectbox("examples", [20, 50, 100, 200], key=f"top_k_{f}")
        group = grp.toggle("group identical", value=True, key=f"group_{f}")
        fetch = data.top_groups if group else data.top_examples
        rows = fetch(r, *data.key(r), f, k)
        what = "distinct inputs (× = identical weapon + tokens)" if group else "highest activations"
        head.markdown(
            f"**The {len(rows)} {what}** · each ability at the highest AP rung the sample "
            "holds; \\* marks a partial build that lacks some lower rungs (see its tokens)"
        )
        top = rows[0]["activation"] if rows else None
        widgets.examples_table(rows, top, key=f"top_table_{f}_{group}")
        if rows:
            full_build(r, [row["sample_id"] for row in rows], f)
    with quiet:
        not_firing(r, f)


def full_build(r, sample_ids: list[int], f: int) -> None:
    s = st.selectbox("full build of sample", sample_ids, key=f"build_of_{f}")
    b = data.containing_builds(r, *data.key(r), int(s))
    st.markdown(
        f"Sample {s} is drawn from build {b['build']['build_id']}: "
        + " · ".join(present.build_texts(b["build"]["tokens"]))
        + f"  \n{b['n_others']} other builds on this weapon contain all of its tokens"
    )
    if b["others"]:
        st.dataframe(
            [{"build": o["build_id"], "abilities": present.build_texts(o["tokens"])}
             for o in b["others"]],
            hide_index=True, key=f"others_{f}_{s}",
        )  # fmt: skip


def not_firing(r, f: int) -> None:
    kind = st.radio("samples", ["hard negatives", "random"], horizontal=True, key=f"neg_kind_{f}")
    out = data.negatives(r, *data.key(r), f, 20, 0)
    if kind == "hard negatives":
        st.markdown(
            "**Where it does not fire although the sample holds its top tokens** ("
            + ", ".join(out["top_tokens"])
            + "), most shared first"
        )
        rows = out["hard"]
    else:
        st.markdown("**Seeded random samples where it does not fire**")
        rows = out["random"]
    widgets.examples_table(rows, 1.0, key=f"neg_table_{f}_{kind}", empty="No such samples.")
