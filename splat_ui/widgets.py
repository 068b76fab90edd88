"""Shared pieces of the views: error guard, example tables, plot styling."""

from __future__ import annotations

from contextlib import contextmanager

import pandas as pd
import streamlit as st

from splat_core.labels import LabelError
from splat_core.query import (
    DamagedError,
    MissingAssetError,
    UnknownFeatureError,
    UnknownSampleError,
)

PLOT = {"displayModeBar": False}
BLUE, RED, GREY = "#3b6fd1", "#d1493b", "#9aa3b2"


@contextmanager
def guard():
    """Show a missing asset or a bad id as a message instead of a traceback."""
    try:
        yield
    except MissingAssetError as e:
        st.error(f"**{e.asset}** is not materialized yet under `{e.home}`.")
        st.info("Run `splat materialize` (or `splat demo`) and this view fills in by itself.")
    except (UnknownFeatureError, UnknownSampleError, LabelError) as e:
        st.error(str(e))
    except DamagedError as e:
        st.error(f"Damaged data, not shown: {e}")
        st.info("`splat verify` lists every damaged file; materialize the asset again.")


def examples_table(
    rows: list[dict], top: float | None, kit: bool = True, key=None,
    empty: str = "No examples: this feature never fires.",
) -> None:  # fmt: skip
    """Examples as a sortable table: the build as chips, the activation as a bar."""
    if not rows:
        st.info(empty)
        return
    frame = pd.DataFrame(rows)
    columns = ["rank", "activation", "weapon", "kit", "build", "ap", "tokens", "sample_id"]
    if not kit:
        columns = ["rank", "activation", "weapon", "build", "tokens"]
    extra = [c for c in ("count", "shared") if c in frame]  # grouped examples, negatives
    columns = columns[:1] + extra + columns[1:]
    config = {
        "rank": st.column_config.NumberColumn("#", width=40),
        "activation": st.column_config.ProgressColumn(
            "activation", format="%.4f", min_value=0.0, max_value=float(top or 1.0), width=130
        ),
        "weapon": st.column_config.TextColumn("weapon", width=170),
        "kit": st.column_config.TextColumn("class · sub · special", width=260),
        "build": st.column_config.ListColumn(
            "build (AP)", width="large", help="* = some lower rungs missing (a partial build)"
        ),
        "ap": st.column_config.NumberColumn("AP", help="sum of the highest rungs held"),
        "tokens": st.column_config.ListColumn("input tokens", width="medium"),
        "sample_id": st.column_config.NumberColumn("sample", format="%d"),
        "count": st.column_config.NumberColumn("×", help="identical inputs among the top"),
        "shared": st.column_config.NumberColumn("shared", help="top tokens the sample holds"),
    }
    st.dataframe(
        frame[columns],
        column_config=config,
        hide_index=True,
        width="stretch",
        height="content" if len(rows) <= 25 else 740,
        key=key,
    )


def plot_layout(fig, height: int = 320, **kw):
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
        font={"size": 13},
        **kw,
    )
    return fig
