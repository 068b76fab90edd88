"""Interactions: how abilities combine in the feature. Two (or three) families set to each
rung of a grid on its examples with the model re-run (the interaction beyond additive
effects), the minimal token sets of its top examples, and the ability sets over-represented
among its high activations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from splat_core import investigate
from splat_core.domain import present
from splat_core.domain.vocab import ABILITIES, STANDARD
from splat_core.investigate.names import ability_of
from splat_core.query import Reader
from splat_ui import data, widgets
from splat_ui.nav import Context

NONE = "(none)"


@st.cache_data(show_spinner="Re-running the model on the grid…", max_entries=64)
def _interaction(_r: Reader, home: str, version: str, f: int, fams: tuple, n: int, src: str):
    if len(fams) == 3:
        return investigate.interaction3(_r, f, *fams, n=n, source=src)
    return investigate.interaction(_r, f, *fams, n=n, source=src)


@st.cache_data(show_spinner="Searching token subsets…", max_entries=64)
def _minimal(_r: Reader, home: str, version: str, f: int, n: int, fraction: float, source: str):
    return investigate.minimal_sets(_r, f, n, fraction, max_evals=1024, source=source)


@st.cache_data(show_spinner=False, max_entries=64)
def _itemsets(_r: Reader, home: str, version: str, f: int, q: float, sup: float, tokens: bool):
    return investigate.contrastive_itemsets(_r, f, q, 3, sup, 30, not tokens)


def render(ctx: Context) -> None:
    r, f = ctx.reader, ctx.f
    if not r.top_examples(f, 1):
        st.info(f"Feature {f} never fires: nothing to edit.")
        return
    likely = _likely(ctx)
    st.markdown("**Interaction** · causal: families set on the examples, model re-run")
    a, b, c, d = st.columns([3, 3, 3, 2])
    x = a.selectbox("x", ABILITIES, ABILITIES.index(likely[0]), key=f"ia_x_{f}",
                    format_func=present.ability_name)  # fmt: skip
    y = b.selectbox("y", ABILITIES, ABILITIES.index(likely[1]), key=f"ia_y_{f}",
                    format_func=present.ability_name)  # fmt: skip
    z = c.selectbox("third (optional)", [NONE, *ABILITIES], key=f"ia_z_{f}",
                    format_func=lambda v: v if v == NONE else present.ability_name(v))  # fmt: skip
    n = d.number_input("examples", 5, 200, 30, step=5, key=f"ia_n_{f}")
    fams = (x, y) if z == NONE else (x, y, z)
    if len(set(fams)) < len(fams):
        st.info("Choose different families.")
    else:
        try:
            res = _interaction(r, *data.key(r), f, fams, int(n), "top")
        except (KeyError, ValueError) as e:
            st.warning(str(e.args[0] if isinstance(e, KeyError) and e.args else e))
        else:
            (three if len(fams) == 3 else grid)(res, f)
    st.divider()
    minimal(ctx)
    st.divider()
    itemsets(ctx)


def _likely(ctx: Context) -> list[str]:
    """The families of the feature's enhancer tokens first: good defaults."""
    seen = [ability_of(t["token"])[0] for t in ctx.reader.tokens(ctx.f)]
    fams = [a for a in dict.fromkeys(seen) if a in ABILITIES]
    return fams + [a for a in STANDARD if a not in fams] + [a for a in ABILITIES if a not in fams]


def grid(res: dict, f: int) -> None:
    xs, ys = res["x_grid"][1:], res["y_grid"][1:]
    z = np.full((len(ys), len(xs)), np.nan)
    hover = [["" for _ in xs] for _ in ys]
    for c in res["cells"]:
        if c["x_rung"] and c["y_rung"] and c["interaction"] is not None:
            i, j = ys.index(c["y_rung"]), xs.index(c["x_rung"])
            z[i, j] = c["interaction"]
            se = "-" if c["interaction_stderr"] is None else f"{c['interaction_stderr']:.4f}"
            hover[i][j] = f"± {se} (n {c['interaction_n']}, mean activation {c['mean']:.4f})"
    m = np.nanmax(np.abs(z)) if np.isfinite(z).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z, x=[str(v) for v in xs], y=[str(v) for v in ys], customdata=hover,
            colorscale="RdBu", zmid=0, zmin=-m, zmax=m, colorbar={"title": "mean I"},
            hovertemplate=f"{res['x']} %{{x}} × {res['y']} %{{y}}: I = %{{z:.4f}} "
            "%{customdata}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_xaxes(title=f"{present.ability_name(res['x'])} (AP)", type="category")
    fig.update_yaxes(title=f"{present.ability_name(res['y'])} (AP)", type="category")
    st.plotly_chart(widgets.plot_layout(fig, 360), config=widgets.PLOT, key=f"ia_grid_{f}")
    s = res["strongest"]
    strongest = (
        f"; strongest {s['x_rung']} × {s['y_rung']}: I = {s['interaction']:+.4f} "
        f"± {s['interaction_stderr'] or 0:.4f}"
        if s
        else ""
    )
    st.caption(
        f"{res['population']}; I = A(x,y) − A(x,0) − A(0,y) + A(0,0) per example; "
        f"{res['n_illegal']:,} illegal cells skipped{strongest}"
    )
    mains = [{"family": res["x"], **m} for m in res["main_x"]]
    mains += [{"family": res["y"], **m} for m in res["main_y"]]
    st.dataframe(
        pd.DataFrame(mains, columns=["family", "rung", "mean", "stderr", "n"]),
        hide_index=True,
        column_config={"mean": st.column_config.NumberColumn("main effect", format="%.4f")},
    )


def three(res: dict, f: int) -> None:
    t = res["three_way"]
    se = "-" if t["stderr"] is None else f"{t['stderr']:.4f}"
    value = "-" if t["mean"] is None else f"{t['mean']:+.4f}"
    st.metric("three-way term", value, help=res["definitions"]["three_way"])
    st.caption(f"± {se} over {t['n']} examples · {res['population']}")
    rows = [
        {"pair": " × ".join(map(present.ability_name, p["families"])),
         "absent": present.ability_name(p["absent"]), "term": p["mean"],
         "stderr": p["stderr"], "n": p["n"]}
        for p in res["pairwise"]
    ]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def minimal(ctx: Context) -> None:
    r, f = ctx.reader, ctx.f
    st.markdown("**Minimal activating sets** · smallest token subsets of the examples")
    a, b, c = st.columns(3)
    n = a.number_input("examples", 1, 50, 10, key=f"ms_n_{f}")
    frac = b.slider("keep at least (× activation)", 0.1, 1.0, 0.5, 0.05, key=f"ms_frac_{f}")
    source = c.radio("examples from", ("top", "core"), horizontal=True, key=f"ms_src_{f}")
    res = _minimal(r, *data.key(r), f, int(n), float(frac), source)
    st.caption(
        f"{res['population']}; {res['n_complete']} of {res['n_examples']} searched to the "
        f"end; the weapon alone suffices on {res['n_weapon_alone']}"
    )
    left, right = st.columns([3, 2])
    sets = [
        {"set": ", ".join(map(present.token_name, s["tokens"])) or "(weapon alone)",
         "examples": s["n_examples"], "kept": s["mean_kept_fraction"]}
        for s in res["sets"]
    ]  # fmt: skip
    left.dataframe(pd.DataFrame(sets, columns=["set", "examples", "kept"]), hide_index=True)
    shares = [{"token": present.token_name(s["token"]), "share": s["share"]}
              for s in res["token_shares"]]  # fmt: skip
    right.dataframe(pd.DataFrame(shares, columns=["token", "share"]), hide_index=True)


def itemsets(ctx: Context) -> None:
    r, f = ctx.reader, ctx.f
    st.markdown("**Contrastive itemsets** · observational: sets over-represented when high")
    a, b, c = st.columns(3)
    q = a.slider("high quantile", 0.5, 0.99, 0.9, 0.01, key=f"is_q_{f}")
    sup = b.slider("min support (high group)", 0.01, 0.5, 0.05, 0.01, key=f"is_sup_{f}")
    tokens = c.toggle("tokens, not abilities", key=f"is_tok_{f}")
    try:
        res = _itemsets(r, *data.key(r), f, float(q), float(sup), bool(tokens))
    except ValueError as e:
        st.warning(str(e))
        return
    name = present.token_name if tokens else present.ability_name
    rows = [
        {"items": " + ".join(map(name, s["items"])), "lift": s["lift"],
         "support high": s["support_high"], "support all": s["support_all"],
         "count": s["count"], "subset lift": s["max_subset_lift"]}
        for s in res["itemsets"]
    ]  # fmt: skip
    st.caption(res["population"])
    cols = ["items", "lift", "support high", "support all", "count", "subset lift"]
    st.dataframe(pd.DataFrame(rows, columns=cols), hide_index=True)
