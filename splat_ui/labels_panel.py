"""The label editor (sidebar): name, category, confidence and notes, saved to the label store
with a version check, so a label written meanwhile by someone else is never overwritten. The
fields it does not edit (a rule and its score, research fields) are kept as they were."""

from __future__ import annotations

import streamlit as st

from splat_core.labels import CATEGORIES, LabelConflict, LabelError, LabelStore
from splat_core.labels.model import OPTIONAL_FIELDS
from splat_ui.nav import Context

UNRATED = "unrated"
CONFIDENCE = [UNRATED, *(round(i / 10, 1) for i in range(11))]


def _k(f: int, name: str) -> str:
    return f"label_{f}_{name}"


def _kept(label) -> dict:
    """The label's fields this form does not edit (written back unchanged)."""
    fields = {k: getattr(label, k, None) for k in OPTIONAL_FIELDS} if label else {}
    return {k: v for k, v in fields.items() if v is not None}


def load(f: int, label) -> None:
    """Fill the form of feature f from its label (or empty)."""
    ss = st.session_state
    ss[_k(f, "kept")] = _kept(label)
    ss[_k(f, "name")] = label.name if label else ""
    ss[_k(f, "category")] = label.category if label else "none"
    conf = label.confidence if label else None
    ss[_k(f, "confidence")] = (
        UNRATED if conf is None else min(CONFIDENCE[1:], key=lambda c: abs(c - conf))
    )
    ss[_k(f, "notes")] = label.notes if label else ""
    ss[_k(f, "version")] = label.version if label else 0


def save(store: LabelStore, f: int) -> None:
    """Form callback: write the label (expected_version = the one the form was loaded from)."""
    ss = st.session_state
    conf = ss[_k(f, "confidence")]
    try:
        label = store.set(
            f,
            name=ss[_k(f, "name")],
            category=ss[_k(f, "category")],
            notes=ss[_k(f, "notes")],
            confidence=None if conf == UNRATED else float(conf),
            source="ui",
            expected_version=ss[_k(f, "version")],
            **ss.get(_k(f, "kept"), {}),
        )
    except LabelConflict as e:
        cur = e.current
        ss[_k(f, "version")] = cur.version if cur else 0
        ss[_k(f, "kept")] = _kept(cur)
        now = (
            f"It now reads “{cur.name}” ({cur.source}, version {cur.version})"
            if cur
            else ("It has been deleted")
        )
        ss[_k(f, "message")] = (
            "error",
            f"Not saved: the label changed meanwhile. {now}. Your text is kept: save again "
            "to replace it.",
        )
    except LabelError as e:
        ss[_k(f, "message")] = ("error", f"Not saved: {e}")
    else:
        ss[_k(f, "version")] = label.version
        ss[_k(f, "message")] = ("success", f"Saved label of feature {f} (version {label.version}).")


def render(ctx: Context, store: LabelStore) -> None:
    f, sb = ctx.f, st.sidebar
    label = ctx.labels.get(f)
    if _k(f, "name") not in st.session_state:
        load(f, label)
    sb.markdown(f"**Label of feature {f}**")
    with sb.form(f"label_form_{f}", border=False):
        st.text_input("name", key=_k(f, "name"), placeholder="what does it respond to?")
        st.selectbox("category", CATEGORIES, key=_k(f, "category"))
        st.select_slider(
            "confidence",
            CONFIDENCE,
            key=_k(f, "confidence"),
            help="how sure you are of this reading (0 – 1)",
        )
        st.text_area(
            "notes", key=_k(f, "notes"), height=110, placeholder="evidence, open questions…"
        )
        st.form_submit_button(
            "Save label", type="primary", on_click=save, args=(store, f), width="stretch"
        )
    message = st.session_state.pop(_k(f, "message"), None)
    if message:
        (sb.success if message[0] == "success" else sb.error)(message[1])
    if label:
        sb.caption(f"version {label.version} · {label.source} · {label.updated_at[:16]} UTC")
        rule_caption(label)
    sb.caption(f"{len(ctx.labels):,} of {ctx.reader.n_features:,} features labelled")


def rule_caption(label) -> None:
    """The label's rule and its held-out score, if it has them."""
    rule = label.rule
    if not rule:
        return
    score = label.rule_score or {}
    parts = [f"rule `{rule}`"]
    if score.get("f1") is not None:
        parts.append(f"held-out F1 {score['f1']:.3f}")
    if score.get("null_f1") is not None:
        parts.append(f"null {score['null_f1']:.3f}")
    if score.get("confidence"):
        parts.append(score["confidence"])
    st.sidebar.caption(" · ".join(parts))
