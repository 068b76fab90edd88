"""Tokens among the top activations (enrichment, TF-IDF, suppressors); weapons and kits."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from splat_core.domain import present
from splat_ui.nav import Context

WEAPON_KINDS = [
    ("weapon", "Weapons"),
    ("class", "Classes"),
    ("sub", "Subs"),
    ("special", "Specials"),
]


def render(ctx: Context) -> None:
    rows = ctx.reader.tokens(ctx.f)
    if not rows:
        st.info("No token statistics: this feature never fires.")
    else:
        tokens(rows)
    st.divider()
    weapons(ctx.reader.weapons(ctx.f))


def tokens(rows: list[dict]) -> None:
    n_top = rows[0]["n_top"]
    st.markdown(
        f"**Tokens among the top {n_top:,} activations** · enrichment = how many times as often "
        "as over all samples (smoothed); TF-IDF = rate among them × idf"
    )
    best = sorted((r for r in rows if r["tfidf"]), key=lambda r: -r["tfidf"])[:10]
    badges = [f":blue-badge[{present.token_name(r['token'])} · {r['tfidf']:.2f}]" for r in best]
    st.markdown("TF-IDF: " + " ".join(badges))
    left, right = st.columns(2)
    for col, kind, title in ((left, "enhancer", "Enhancers"), (right, "suppressor", "Suppressors")):
        part = [r for r in rows if r["kind"] == kind]
        col.markdown(f"**{title}** ({len(part)})")
        if part:
            col.dataframe(_token_frame(part), hide_index=True, height="content", column_config=CFG)
        else:
            col.caption("none")


CFG = {
    "in top": st.column_config.ProgressColumn("in top", format="percent", min_value=0, max_value=1),
    "overall": st.column_config.NumberColumn("overall", format="percent"),
    "enrichment": st.column_config.NumberColumn("enrichment", format="%.2f×"),
    "tf-idf": st.column_config.NumberColumn("tf-idf", format="%.3f"),
}


def _token_frame(part: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "token": [present.token_name(r["token"]) for r in part],
            "in top": [r["rate_top"] for r in part],
            "overall": [r["base_rate"] for r in part],
            "enrichment": [present.enrichment_ratio(r["enrichment"]) for r in part],
            "tf-idf": [r["tfidf"] for r in part],
        }
    )


def weapons(rows: list[dict]) -> None:
    if not rows:
        st.info("No weapon statistics: this feature never fires.")
        return
    st.markdown(
        f"**Weapons and kits among the top {rows[0]['n_top']:,} activations** · share of them, "
        "and the share of all samples"
    )
    cols = [c for _ in range(2) for c in st.columns(2)]
    for col, (kind, title) in zip(cols, WEAPON_KINDS, strict=True):
        part = [r for r in rows if r["kind"] == kind]
        col.markdown(f"**{title}**")
        frame = pd.DataFrame(
            {
                "name": [r["name"] or r["key"] for r in part],
                "in top": [r["rate_top"] for r in part],
                "overall": [r["base_rate"] for r in part],
                "enrichment": [present.enrichment_ratio(r["enrichment"]) for r in part],
            }
        )
        col.dataframe(frame, hide_index=True, height="content", column_config=CFG)
