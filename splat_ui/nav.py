"""The selected feature, view and SAE variant live in the URL (`?feature=N&view=Tokens`,
`&sae=wide` when the home serves several SAEs): shareable."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pandas as pd
import streamlit as st

from splat_core.labels import Label
from splat_core.query import Reader

FEATURE, VIEW, SAE = "feature", "view", "sae"
RENDER_S = "_render_s"  # session key: seconds the last run of the app took (splat_ui.bench)


@dataclass(frozen=True)
class Context:
    """What every view gets: one snapshot, the selected feature, the labels."""

    reader: Reader
    f: int
    labels: dict[int, Label]

    def name(self, f: int) -> str:
        """'#12 · Swim stacker' (or '#12')."""
        label = self.labels.get(int(f))
        return f"#{f} · {label.name}" if label else f"#{f}"


def goto(f: int, view: str | None = None) -> None:
    """Widget callback: select feature f (and optionally a view)."""
    st.session_state[FEATURE] = int(f)
    if view:
        st.session_state[VIEW] = view


def feature_link(
    ctx: Context, f: int, key: str, text: str | None = None, where=st, new_tab: bool = True
) -> None:
    """A button that moves the explorer to feature f, and (`new_tab`) a link that opens it in
    a new tab."""
    left, right = where.columns([12, 1], vertical_alignment="center") if new_tab else (where, None)
    left.button(
        text or ctx.name(f),
        key=key,
        on_click=goto,
        args=(f,),
        type="tertiary",
        help=f"go to feature {f}",
    )
    if right is not None:
        right.markdown(f"[↗](?feature={int(f)})")


def _open_selected(key: str, ids: list[int]) -> None:
    picked = st.session_state[key]["selection"]["rows"]
    if picked:
        goto(ids[picked[0]])


def feature_table(frame: pd.DataFrame, key: str, config: dict, **kw) -> None:
    """A table of features (column `feature_id`): selecting a row moves the explorer there,
    the `link` column opens that feature in a new tab."""
    ids = [int(x) for x in frame["feature_id"]]
    frame = frame.assign(link=[f"?feature={f}" for f in ids])
    link = st.column_config.LinkColumn("open", display_text="↗ new tab", width=80)
    st.dataframe(
        frame,
        key=key,
        on_select=partial(_open_selected, key, ids),
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
        column_config={
            "feature_id": st.column_config.NumberColumn("feature", width=70),
            "link": link,
            **config,
        },
        **kw,
    )
