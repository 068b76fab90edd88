"""The splat feature explorer: `streamlit run splat_ui/app.py` or `splat serve ui`.

Reads the materialized SPLAT_HOME through the query layer; the selected feature and view
live in the URL (`?feature=N&view=Tokens`), so any view can be shared as a link."""

from __future__ import annotations

import time

import streamlit as st

from splat_core.domain import present
from splat_core.query import MissingAssetError
from splat_ui import data, explanation, labels_panel, picker, widgets
from splat_ui.nav import RENDER_S, VIEW, Context
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
    store = data.labels()
    labels = {x.feature_id: x for x in store.all()}
    st.sidebar.markdown("## :material/bubble_chart: splat explorer")
    ctx = Context(reader, picker.render(reader, store, labels), labels)
    labels_panel.render(ctx, store)
    st.sidebar.caption(f"{n:,} features · `{reader.home}` · data {reader.data_version}")
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
