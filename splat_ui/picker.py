"""The feature picker (sidebar): by id, previous/next/random, the label queue, by label text,
and by output token ("features that push swim_speed_up_21")."""

from __future__ import annotations

import random

import streamlit as st

from splat_core.domain import present
from splat_core.domain.vocab import SPECIAL
from splat_core.labels import LabelStore
from splat_core.query import Reader
from splat_ui.nav import FEATURE, Context, feature_link, goto

SIGNS = {"+": "raise it", "-": "lower it"}


def _random(reader: Reader) -> None:
    firing = [int(f) for f in (reader.feature_counts() > 0).nonzero()[0]]
    if firing:
        goto(random.choice(firing))


def render(reader: Reader, store: LabelStore, labels: dict) -> int:
    """Draw the picker; the selected feature id."""
    sb = st.sidebar
    n = reader.n_features
    f = sb.number_input(
        f"Feature (0 – {n - 1})",
        min_value=0,
        max_value=n - 1,
        step=1,
        key=FEATURE,
        bind="query-params",
    )
    a, b, c = sb.columns(3)
    a.button(
        "",
        key="prev",
        icon=":material/chevron_left:",
        help="previous feature",
        on_click=goto,
        args=(f - 1,),
        disabled=f == 0,
        width="stretch",
    )
    b.button(
        "",
        key="next",
        icon=":material/chevron_right:",
        help="next feature",
        on_click=goto,
        args=(f + 1,),
        disabled=f >= n - 1,
        width="stretch",
    )
    c.button(
        "",
        key="random",
        icon=":material/shuffle:",
        help="a random feature that fires",
        on_click=_random,
        args=(reader,),
        width="stretch",
    )
    ctx = Context(reader, int(f), labels)
    queue = store.queue_next(1)
    if queue:
        q = queue[0]["feature_id"]
        sb.button(f"Next in the label queue: #{q}", on_click=goto, args=(q,), width="stretch")
    with sb.expander("Find features", expanded=False):
        find(ctx, reader, store)
    return int(f)


def find(ctx: Context, reader: Reader, store: LabelStore) -> None:
    text = st.text_input("by label text", key="find_label", placeholder="e.g. swim")
    if text.strip():
        found = store.search(text.strip(), limit=8)
        if not found:
            st.caption("no label matches")
        for lab in found:
            feature_link(ctx, lab.feature_id, key=f"find_label_{lab.feature_id}", new_tab=False)
    vocab = reader.vocabularies[0]
    tokens = [t for t in vocab.token_to_id if t not in SPECIAL]
    token = st.selectbox(
        "by output token",
        tokens,
        index=None,
        key="find_token",
        format_func=present.token_name,
        placeholder="features that push…",
    )
    sign = st.segmented_control(
        "direction",
        list(SIGNS),
        default="+",
        key="find_sign",
        format_func=SIGNS.get,
        label_visibility="collapsed",
    )
    if token:
        rows = reader.token_features(token, k=8, sign=sign or "+")
        if not rows:
            st.caption("no feature pushes it that way")
        for row in rows:
            g = row["feature_id"]
            text = f"{ctx.name(g)} — {row['value']:+.3f}"
            feature_link(ctx, g, key=f"find_token_{g}", text=text, new_tab=False)
