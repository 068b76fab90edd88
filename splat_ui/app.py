"""The splat feature explorer: `streamlit run splat_ui/app.py` or `splat serve ui`.

Reads the materialized SPLAT_HOME through the query layer; the selected feature and view
live in the URL (`?feature=N&view=Tokens`), so any view can be shared as a link. A home
that serves several SAE variants gets an "SAE" picker, kept in the URL too (`&sae=wide`)."""

from __future__ import annotations

import time

import streamlit as st

from splat_core.domain import present
from splat_core.query import MissingAssetError, Reader, UnknownSAEError
from splat_core.store.contract import DEFAULT_SAE
from splat_ui import data, explanation, labels_panel, picker, widgets
from splat_ui.nav import FEATURE, RENDER_S, SAE, VIEW, Context
from splat_ui.views import VIEWS


def header(ctx: Context) -> None:
    r, f = ctx.reader, ctx.f
    label = ctx.labels.get(f)
    st.markdown(f"### {present.feature_title(f, label and label.to_dict())}")
    nnz = int(r.feature_counts()[f])
    stats = r.stats(f)
    top = [t for t in r.tokens(f) if t["kind"] == "enhancer"][:1]
    parts = [f"fires on {nnz:,} of {r.n_samples:,} samples ({present.share(nnz / r.n_samples)})"]
    if stats:
        parts.append(f"max {stats['max']:.4f}")
    if top:
        parts.append(f"top token {present.token_name(top[0]['token'])}")
    st.caption(" · ".join(parts))


def no_store(error: MissingAssetError) -> None:
    st.title("splat feature explorer")
    st.error(f"Nothing to explore yet: {error}.")
    st.markdown(
        f"Materialize the assets first, e.g. `splat materialize --home {data.home()}` (or "
        "`splat demo`, which also starts this explorer). This page picks them up by itself."
    )
    st.button("Check again")


def pick_sae(default: Reader) -> Reader:
    """The snapshot of the SAE variant picked in the sidebar (shown only when the served
    generation holds more than one); the feature id is kept when the variant has it."""
    saes = default.saes
    if len(saes) <= 1:
        return default
    sae = st.sidebar.selectbox(
        "SAE", saes, key=SAE, bind="query-params",
        help="the SAE variant to explore: each has its own features, tables and labels",
    )  # fmt: skip
    if not sae or sae == DEFAULT_SAE:
        return default
    try:
        reader = data.reader(sae)
    except UnknownSAEError as e:  # dropped since the list was read
        st.sidebar.warning(str(e))
        return default
    n = reader.n_features
    if isinstance(st.session_state.get(FEATURE), int) and st.session_state[FEATURE] >= n:
        st.session_state[FEATURE] = n - 1  # a wider variant's id: the last of this one
    return reader


def main() -> None:
    start = time.perf_counter()
    st.set_page_config(
        page_title="splat explorer", page_icon=":material/bubble_chart:", layout="wide"
    )
    reader = data.reader()
    try:
        n = reader.n_features  # opens the feature store, or says it is missing
    except MissingAssetError as e:
        no_store(e)
        return
    st.sidebar.markdown("## :material/bubble_chart: splat explorer")
    reader = pick_sae(reader)
    n = reader.n_features
    store = data.labels(reader.sae)
    labels = {x.feature_id: x for x in store.all()}
    ctx = Context(reader, picker.render(reader, store, labels), labels)
    labels_panel.render(ctx, store)
    sae = "" if reader.sae == DEFAULT_SAE else f"SAE {reader.sae} · "
    st.sidebar.caption(f"{n:,} features · {sae}`{reader.home}` · data {reader.data_version}")
    with widgets.guard():
        header(ctx)
    with widgets.guard():
        explanation.render(ctx, store)
    tabs = st.tabs(list(VIEWS), key=VIEW, bind="query-params")
    for tab, render in zip(tabs, VIEWS.values(), strict=True):
        if tab.open:
            with tab, widgets.guard():
                render(ctx)
    st.session_state[RENDER_S] = time.perf_counter() - start  # read by splat_ui.bench


main()
