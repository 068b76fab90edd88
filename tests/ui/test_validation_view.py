"""The Validate tab (AppTest) on the tiny home: it renders the core functions' numbers."""

from __future__ import annotations

import pytest

from splat_core import investigate as inv
from tests.ui.test_views import open_view, tables


def test_validate_view_shows_the_halves_nulls_and_interference(app, reader, feature):
    open_view(app, feature, "Validate")
    family = app.selectbox(key=f"va_fam_{feature}").value
    want = inv.validate_sweep(reader, feature, family, 200, 0)
    shown = tables(app)
    sweep = shown[0]
    assert list(sweep["label"]) == [r["label"] for r in want["rows"]]
    assert list(sweep["delta_a"].fillna(-99)) == pytest.approx(
        [-99 if r["delta_a"] is None else r["delta_a"] for r in want["rows"]]
    )
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["eta² p"] == f"{want['eta_squared']['p_value']:.3g}"
    inter = inv.interference(reader, feature, family, 50, "top", 0)
    assert any(inter["population"] == c.value for c in app.caption)
    if inter["applies"]:
        assert list(shown[1]["mean"]) == pytest.approx(
            [
                inter["all_holding"][k]["mean"]
                for k in ("remove_top", "remove_family", "lower_rungs")
            ]
        )
    best = reader.explanations(feature)[0]["rule"]
    assert app.text_input(key=f"va_rule_{feature}").value == best
    rule = inv.validate_rule(reader, feature, best, 200, 0)
    assert list(shown[-1]["f1"]) == pytest.approx(
        [rule[k]["f1"] for k in ("all", "half_a", "half_b")]
        + [rule["explainer_split"][k]["f1"] for k in ("fit", "held_out")]
    )
    assert len(app.get("plotly_chart")) == 2  # the sweep's and the rule's null
    app.text_input(key=f"va_rule_{feature}").set_value("swim_speed_up >>= 3").run()
    assert [w.value for w in app.warning] == ["rule:15: unexpected '>'"]
