"""The Interactions tab (AppTest over the tiny home): it renders the interaction grid, the
minimal sets and the itemsets of the core functions, and the three-way version."""

from __future__ import annotations

import pytest

from splat_core import investigate as inv
from splat_core.domain import present
from splat_core.domain.vocab import STANDARD
from tests.ui.test_views import open_view, tables


def test_interactions_view_renders_the_core_results(app, reader, feature):
    open_view(app, feature, "Interactions")
    assert len(app.get("plotly_chart")) == 1
    x, y = app.selectbox(key=f"ia_x_{feature}").value, app.selectbox(key=f"ia_y_{feature}").value
    res = inv.interaction(reader, feature, x, y, n=30)
    assert any(res["population"] in c.value for c in app.caption)
    shown = tables(app)
    assert list(shown[0]["mean"]) == pytest.approx(
        [m["mean"] for m in res["main_x"] + res["main_y"]]
    )
    sets = inv.minimal_sets(reader, feature, 10, 0.5, max_evals=1024)["sets"]
    assert list(shown[1]["examples"]) == [s["n_examples"] for s in sets]
    items = inv.contrastive_itemsets(reader, feature, 0.9, 3, 0.05, 30)["itemsets"]
    names = [" + ".join(map(present.ability_name, s["items"])) for s in items]
    assert list(shown[3]["items"]) == names
    third = next(a for a in STANDARD if a not in (x, y))
    app.selectbox(key=f"ia_z_{feature}").set_value(third).run()
    assert not app.exception, [e.value for e in app.exception]
    assert any(m.label == "three-way term" for m in app.metric)
