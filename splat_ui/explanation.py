"""The feature's best explanation, at the top of every page: its rule as a sentence, its
confidence class and held-out scores beside the null's (failures too); the other rules, the
misses and the hard negatives on demand; "Accept as label" makes it the feature's label."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from splat_core.domain import present
from splat_core.labels import LabelConflict, LabelStore
from splat_core.query import MissingAssetError, Reader
from splat_ui import data, labels_panel, widgets
from splat_ui.nav import Context

BADGE = {"high": "green", "medium": "blue", "low": "orange", "none": "gray"}
TARGET = {"fires": "where it fires", "strong": "its strong activations (≥ median when firing)"}
K = 5  # misses and hard negatives shown
SOURCE = "auto"  # the label's source: accepted from the search


def num(x) -> str:
    return "—" if x is None or x != x else f"{x:.3f}"


def scores(row: dict) -> str:
    """The held-out scores of an explanation row, as one line."""
    return " · ".join([
        f"held-out F1 **{num(row['f1'])}** vs null {num(row['null_f1'])}",
        f"precision {num(row['precision'])}",
        f"recall {num(row['recall'])}",
        f"AUROC {num(row['auroc'])} vs null {num(row['null_auroc'])}",
        f"target: {TARGET.get(row['target'], row['target'])}",
        f"rule holds on {present.share(row['coverage'])} of samples",
    ])  # fmt: skip


def render(ctx: Context, store: LabelStore) -> None:
    r, f = ctx.reader, ctx.f
    try:
        rows = r.explanations(f)
    except MissingAssetError:
        st.caption("No explanations: `feature_explanations` is not materialized yet.")
        return
    if not rows:
        unexplained(r, f)
        return
    best, label = rows[0], ctx.labels.get(f)
    conf = best["confidence"]
    verdict = "no better than chance" if conf == "none" else f"{conf} confidence"
    left, right = st.columns([7, 1], vertical_alignment="center")
    left.markdown(f"**Best explanation** :{BADGE.get(conf, 'gray')}-badge[{verdict}] "
                  f"{best['sentence']}")  # fmt: skip
    left.caption(scores(best))
    right.button(
        "Accept as label",
        key=f"accept_{f}",
        on_click=accept,
        args=(r, store, f, label.version if label else 0),
        disabled=conf == "none",
        help="a rule no better than chance makes no label" if conf == "none" else
        "make this rule the feature's label: its sentence as the name, its scores kept",
    )  # fmt: skip
    if label and label.rule == best["rule"]:
        right.caption("the label holds this rule")
    message = st.session_state.pop(f"accept_message_{f}", None)
    if message:
        (st.success if message[0] == "success" else st.error)(message[1])
    more = st.expander(
        f"All {len(rows)} rules, the best rule's misses and hard negatives",
        key=f"explain_more_{f}",
        on_change="rerun",
    )
    if more.open:
        with more, widgets.guard():
            details(r, f, rows)


def details(r: Reader, f: int, rows: list[dict]) -> None:
    st.code(rows[0]["rule"], language=None)
    columns = ["rank", "confidence", "target", "sentence", "f1", "null_f1", "precision",
               "recall", "auroc", "coverage", "n_positive", "rule"]  # fmt: skip
    score = st.column_config.NumberColumn(format="%.3f", width=70)
    config = {c: score for c in ("f1", "null_f1", "precision", "recall", "auroc")}
    config["coverage"] = st.column_config.NumberColumn(format="percent", width=80)
    config["sentence"] = st.column_config.TextColumn(width="large")
    frame = pd.DataFrame(rows)[columns]
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config)
    ex = data.explanation_examples(r, *data.key(r), f, K)
    stats = r.stats(f)
    top = float(stats["max"]) if stats else None
    misses, negatives = st.tabs([f"Misses ({len(ex['misses'])})",
                                 f"Hard negatives ({len(ex['hard_negatives'])})"])  # fmt: skip
    with misses:
        st.caption("Samples of the rule's target (see the table) it misses, highest first.")
        widgets.examples_table(ex["misses"], top, key=f"misses_{f}", empty="No misses.")
    with negatives:
        st.caption("Samples where the rule holds and the feature does not fire, deepest first.")
        widgets.examples_table(
            ex["hard_negatives"], top, key=f"negatives_{f}", empty="No hard negatives."
        )


def unexplained(r: Reader, f: int) -> None:
    n_fit, least = data.search_positives(r, *data.key(r), f)
    why = (
        f"fewer than {least:,} firing samples to search (it fires on {n_fit:,} of the samples "
        "the search fits on)"
        if n_fit < least
        else "the search found no rule"
    )
    st.markdown(f"**Not explained** :gray-badge[no rule] {why}")


def accept(reader: Reader, store: LabelStore, f: int, version: int) -> None:
    """Button callback: the rank-1 rule as the label, unless the label changed meanwhile."""
    from splat_core.investigate.label_scores import accept_explanation

    ss = st.session_state
    try:
        label = accept_explanation(
            reader, store, f, rank=1, source=SOURCE, expected_version=version
        )
    except LabelConflict as e:
        now = f"it now reads “{e.current.name}”" if e.current else "it has been deleted"
        ss[f"accept_message_{f}"] = ("error", f"Not saved: the label changed meanwhile ({now}).")
    except ValueError as e:  # LabelError among them
        ss[f"accept_message_{f}"] = ("error", f"Not saved: {e}")
    else:
        labels_panel.load(f, label)
        ss[f"accept_message_{f}"] = (
            "success",
            f"Saved label of feature {f} (version {label.version}, source {label.source}): "
            f"“{label.name}”.",
        )
