"""Validate: is an effect real? A family sweep on two halves of the samples and against a
shuffle null, the within-family interference test on the model, token effects' stability
and p-values, and an explanation rule against its null (splat_core.investigate)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from splat_core import investigate as inv
from splat_core.domain import present
from splat_core.domain.vocab import ABILITIES
from splat_core.investigate.names import ability_of
from splat_core.query import Reader
from splat_ui import data, widgets
from splat_ui.nav import Context

SHUFFLES = (100, 200, 500, 1000)


# Cached per snapshot (data.key): the shuffles are cheap, the interference runs the model.
@st.cache_data(show_spinner=False, max_entries=64)
def _sweep(_r: Reader, home: str, version: str, f: int, family: str, n_perm: int, seed: int):
    return inv.validate_sweep(_r, f, family, n_perm, seed)


@st.cache_data(show_spinner=False, max_entries=64)
def _tokens(_r: Reader, home: str, version: str, f: int, n_perm: int, seed: int):
    return inv.validate_token_effects(_r, f, True, n_perm, seed)


@st.cache_data(show_spinner=False, max_entries=64)
def _interference(_r: Reader, home: str, version: str, f: int, family: str, seed: int):
    return inv.interference(_r, f, family, 50, "top", seed)


@st.cache_data(show_spinner=False, max_entries=64)
def _rule(_r: Reader, home: str, version: str, f: int, rule: str, n_perm: int, seed: int):
    return inv.validate_rule(_r, f, rule, n_perm, seed)


def render(ctx: Context) -> None:
    r, f = ctx.reader, ctx.f
    st.markdown(
        "**Is the effect real?** · split-half: measured on two seeded disjoint halves of the "
        "samples; null: the activations shuffled over the samples"
    )
    a, b, c = st.columns([3, 2, 1])
    families = _likely(r, f)
    family = a.selectbox("family", families, format_func=present.ability_name, key=f"va_fam_{f}")
    n_perm = b.select_slider("shuffles", SHUFFLES, value=200, key=f"va_perm_{f}")
    seed = int(c.number_input("seed", 0, 2**31 - 1, 0, key=f"va_seed_{f}"))
    k = data.key(r)
    sweep(_sweep(r, *k, f, family, n_perm, seed), f)
    st.divider()
    interference(_interference(r, *k, f, family, seed))
    st.divider()
    tokens(_tokens(r, *k, f, n_perm, seed))
    st.divider()
    rules = r.explanations(f) if "feature_explanations" in r.versions else []
    st.markdown("**An explanation rule** · its F1 on both halves and against the shuffle null")
    text = st.text_input("rule", rules[0]["rule"] if rules else "", key=f"va_rule_{f}")
    if text.strip():
        try:
            rule(_rule(r, *k, f, text, n_perm, seed))
        except ValueError as e:  # a rule that does not parse: say which column
            st.warning(str(e))


def _likely(r: Reader, f: int) -> list[str]:
    """The families of the feature's top tokens first, then every ability."""
    seen = [ability_of(t["token"])[0] for t in r.tokens(f)]
    first = [x for x in dict.fromkeys(seen) if x in ABILITIES]
    return first + [x for x in ABILITIES if x not in first]


def _p(p: float | None) -> str:
    return "-" if p is None else f"{p:.3g}"


def sweep(res: dict, f: int) -> None:
    st.markdown(f"**Sweep of {present.ability_name(res['family'])} on two halves**")
    st.caption(res["population"])
    ag, peak, eta = res["agreement"], res["peak"], res["eta_squared"]
    m = st.columns(4)
    m[0].metric("halves' r", "-" if ag["pearson_r"] is None else f"{ag['pearson_r']:.2f}",
                help=res["definitions"]["pearson_r"])  # fmt: skip
    m[1].metric("same sign", "-" if ag["sign_agreement"] is None else
                f"{ag['sign_agreement']:.0%}", help=f"over {ag['n_rungs']} rungs")  # fmt: skip
    m[2].metric("peak |delta| p", _p(peak["p_value"]), help=res["definitions"]["peak"])
    m[3].metric("eta² p", _p(eta["p_value"]), help=res["definitions"]["eta_squared"])
    frame = pd.DataFrame(res["rows"])[
        ["label", "n", "delta", "delta_stderr", "n_a", "delta_a", "n_b", "delta_b",
         "reliable_both"]
    ]  # fmt: skip
    st.dataframe(frame, hide_index=True, height="content")
    if eta["histogram"]:
        null_histogram(eta, "eta squared", f"va_eta_{f}")


def null_histogram(s: dict, name: str, key: str) -> None:
    h = s["histogram"]
    edges = h["edges"]
    mids = [(lo + hi) / 2 for lo, hi in zip(edges, edges[1:], strict=False)]
    fig = go.Figure(go.Bar(x=mids, y=h["counts"], marker_color=widgets.GREY, name="null"))
    fig.add_vline(x=s["observed"], line_color=widgets.RED, annotation_text="observed")
    fig.update_xaxes(title=f"{name} under the shuffle null")
    fig.update_yaxes(title="shuffles")
    st.plotly_chart(widgets.plot_layout(fig, 220), config=widgets.PLOT, key=key)
    st.caption(
        f"observed {s['observed']:.4g}; null mean {s['null_mean']:.4g}, 95th percentile "
        f"{s['null_p95']:.4g}; p = {_p(s['p_value'])}"
    )


def interference(res: dict) -> None:
    st.markdown("**Interference within the family** · on the model: remove the top rung only, "
                "or the whole family")  # fmt: skip
    if not res["applies"]:
        st.info(res["reason"])
        return
    st.caption(res["population"])
    e = res["all_holding"]
    rows = [
        {"change": name, **{k: e[key][k] for k in ("mean", "stderr", "n", "p_value")}}
        for key, name in (("remove_top", "top rung removed (b − a)"),
                          ("remove_family", "family removed (c − a)"),
                          ("lower_rungs", "lower rungs (c − b)"))
    ]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True, height="content")
    st.caption(res["summary"])


def tokens(res: dict) -> None:
    ag = res["agreement"]
    st.markdown("**Token effects on two halves** (abilities)")
    st.caption(
        f"{res['population']}; halves' r = "
        f"{'-' if ag['pearson_r'] is None else format(ag['pearson_r'], '.2f')} over "
        f"{ag['n_items']} items; top-{res['top_k']} overlap {ag['top_overlap']:.0%}. "
        f"{res['note']}"
    )
    if res["rows"]:
        frame = pd.DataFrame(res["rows"])
        frame["item"] = frame["item"].map(present.ability_name)
        cols = ["item", "kind", "n_with", "delta", "delta_stderr", "delta_a", "delta_b",
                "p_value", "p_bonferroni"]  # fmt: skip
        st.dataframe(frame[cols], hide_index=True, height="content")
    else:
        st.info("No item passes the enhancer or suppressor thresholds.")


def rule(res: dict) -> None:
    st.caption(f"{res['sentence']} · target {res['target']} · {res['population']}")
    parts = {"all": res["all"], "half A": res["half_a"], "half B": res["half_b"],
             **{f"explainer {k}": v for k, v in res["explainer_split"].items()}}  # fmt: skip
    frame = pd.DataFrame([{"samples": k, **v} for k, v in parts.items()])
    st.dataframe(frame, hide_index=True, height="content")
    null_histogram(res["f1_null"], "F1", f"va_rule_hist_{res['feature_id']}")
