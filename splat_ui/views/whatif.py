"""What-if: edit a build (weapon + abilities) and watch the feature and the predictions move.

The starting point is one of the feature's top examples, run on exactly its stored (partial)
tokens, or an empty build; the editor holds it as AP per ability, and every change runs the
model and the SAE again."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from splat_core.domain import present
from splat_core.domain.tokenizer import check_ap
from splat_core.domain.vocab import FULL_AP, MAIN_AP, MAIN_ONLY_SLOT, PIECES, RUNGS, STANDARD
from splat_core.investigate import explorer
from splat_core.query.examples import weapon_infos
from splat_ui import data
from splat_ui.nav import Context, feature_link

EMPTY = "an empty build"
NONE = "—"
LEVELS = (0, *RUNGS)


def _k(f: int, name: str) -> str:
    return f"wi_{f}_{name}"


def _load(f: int, starts: dict, weapons: list[int]) -> None:
    """Callback of "start from": put that build into the editor's widgets."""
    ss = st.session_state
    start = starts.get(ss[_k(f, "start")])
    weapon = start["weapon_id"] if start else weapons[0]
    ap = present.build_ap(start["tokens"]) if start else {}
    ss[_k(f, "weapon")] = weapon
    for piece in PIECES:
        held = [a for a, p in MAIN_ONLY_SLOT.items() if p == piece and ap.get(a)]
        ss[_k(f, piece)] = held[0] if held else NONE
    for family in STANDARD:
        ss[_k(f, family)] = ap.get(family, 0)


def render(ctx: Context) -> None:
    r, f = ctx.reader, ctx.f
    infos = weapon_infos(r.vocabularies[1])
    infos.sort(key=lambda w: (w.weapon_class or "~", w.name or ""))
    names = {w.weapon_id: present.weapon_text(w) for w in infos}
    short = {w.weapon_id: w.name or str(w.weapon_id) for w in infos}
    starts = {
        f"top example #{e['rank']} ({e['activation']:.4f})": e
        for e in data.top_examples(r, *data.key(r), f, 10)
    }
    if _k(f, "start") not in st.session_state:
        st.session_state[_k(f, "start")] = next(iter(starts), EMPTY)
        _load(f, starts, list(names))
    left, right = st.columns([2, 3], gap="large")
    with left:
        weapon, ap = editor(f, starts, names)
    with right:
        results(ctx, starts.get(st.session_state[_k(f, "start")]), weapon, ap, names, short)


def editor(f: int, starts: dict, names: dict[int, str]) -> tuple[int, dict]:
    st.selectbox(
        "start from",
        [*starts, EMPTY],
        key=_k(f, "start"),
        on_change=_load,
        args=(f, starts, list(names)),
    )
    weapon = st.selectbox("weapon", list(names), key=_k(f, "weapon"), format_func=names.get)
    ap: dict[str, int] = {}
    for col, piece in zip(st.columns(3), PIECES, strict=True):
        options = [NONE, *(a for a, p in MAIN_ONLY_SLOT.items() if p == piece)]
        main = col.selectbox(
            f"{piece} (main-only)",
            options,
            key=_k(f, piece),
            format_func=lambda a: a if a == NONE else present.ability_name(a),
        )
        if main != NONE:
            ap[main] = MAIN_AP
    cols = st.columns(2)
    for i, family in enumerate(STANDARD):
        level = cols[i % 2].select_slider(present.ability_name(family), LEVELS, key=_k(f, family))
        if level:
            ap[family] = level
    return weapon, ap


def results(ctx: Context, start, weapon: int, ap: dict, names: dict, short: dict) -> None:
    r, f = ctx.reader, ctx.f
    total = present.total_ap(ap)
    try:
        check_ap(ap)
    except ValueError as e:
        st.warning(f"Not a legal build: {e}.")
        return
    if start:
        before = data.encode_tokens(r, *data.key(r), f, start["weapon_id"], tuple(start["tokens"]))
    else:
        before = data.encode(r, *data.key(r), f, next(iter(names)), ())
    after = data.encode(r, *data.key(r), f, weapon, tuple(sorted(ap.items())))
    a, b, c = st.columns(3)
    delta = after["activation"] - before["activation"]
    a.metric(f"feature {f}, edited", f"{after['activation']:.4f}", f"{delta:+.4f}", border=True)
    b.metric(
        "start",
        f"{before['activation']:.4f}",
        border=True,
        help="the example on exactly its stored tokens",
    )
    c.metric("AP", f"{total} / {FULL_AP}", border=True)
    if start:
        st.caption(
            "Start: the example on its own input tokens (a partial build). The editor reads it "
            "as AP, which fills in any lower rungs it lacked: that alone can change the feature."
        )
    st.markdown("**Predictions** · probability per token, start → edited")
    rows = explorer.prediction_rows(before["probabilities"], after["probabilities"], 10)
    st.dataframe(
        pd.DataFrame(rows)[["name", "before", "after", "change"]],
        hide_index=True,
        height="content",
        column_config={
            "name": "token",
            "before": st.column_config.NumberColumn("start", format="%.3f"),
            "after": st.column_config.ProgressColumn(
                "edited", format="%.3f", min_value=0, max_value=1
            ),
            "change": st.column_config.NumberColumn("change", format="%+.3f"),
        },
    )
    edits(ctx, weapon, ap, short)
    with st.expander("Features most active on the edited build"):
        for g, v in after["features"]:
            feature_link(ctx, g, key=f"wi_feat_{f}_{g}", text=f"{ctx.name(g)} — {v:.4f}")


def edits(ctx: Context, weapon: int, ap: dict, names: dict) -> None:
    r, f = ctx.reader, ctx.f
    variants = data.single_edits(r, *data.key(r), f, weapon, tuple(sorted(ap.items())))
    st.markdown(f"**Single edits of the edited build**, by their effect on feature {f}")
    rows = [
        {
            "edit": _describe(v, names),
            "activation": v["feature_activation"],
            "change": v["feature_delta"],
            "largest prediction changes": ", ".join(
                f"{present.token_name(t)} {d:+.2f}" for t, d in v["prediction_changes"][:2]
            ),
        }
        for v in variants[:12]
    ]
    st.dataframe(
        rows,
        hide_index=True,
        height="content",
        column_config={
            "activation": st.column_config.NumberColumn(format="%.4f"),
            "change": st.column_config.NumberColumn(format="%+.4f"),
        },
    )


def _describe(v: dict, names: dict) -> str:
    if v["kind"] == "add":
        return f"add {present.token_name(v['change'])}"
    if v["kind"] == "remove":
        return f"remove {present.ability_name(v['change'])}"
    return f"weapon → {names.get(int(v['change']), v['change'])}"
