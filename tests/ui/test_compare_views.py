"""The Compare and Map tabs and the Influence tab's logit histogram (AppTest on the tiny
home): the numbers shown are the core functions'."""

from __future__ import annotations

import json

import numpy as np

from splat_core.investigate.compare import compare_features, logit_histogram, map_points
from tests.ui.test_views import open_view


def test_compare_view_shows_overlap_and_rates(app, reader, feature):
    open_view(app, feature, "Compare")
    g = int(np.argsort(-reader.feature_counts(), kind="stable")[1])
    app.number_input(key=f"cmp_{feature}_other").set_value(g).run()
    assert not app.exception and not app.error
    want = compare_features(reader, feature, g)
    shown = {m.label: m.value for m in app.metric}
    assert shown["both fire"] == f"{want['counts']['both']:,}"
    assert shown[f"only {g}"] == f"{want['counts']['only_g']:,}"
    p = want["p_g_given_f"]
    assert shown[f"P({g} fires | {feature} fires)"] == (
        f"{100 * p['p']:.1f}% ± {100 * p['stderr']:.1f}"
    )
    assert shown["decoder cosine"] == f"{want['decoder_cosine']:.3f}"
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    points = want["scatter"]["points"]
    assert spec["data"][0]["x"] == [q["a_f"] for q in points]
    assert spec["data"][0]["customdata"] == [q["sample_id"] for q in points]


def test_map_view_plots_every_feature(app, reader, feature):
    open_view(app, feature, "Map")
    want = map_points(reader)
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    shown = sorted(c[0] for t in spec["data"][:-1] for c in t["customdata"])  # last: the star
    assert shown == sorted(p["feature_id"] for p in want["points"])
    assert spec["data"][-1]["customdata"] == [[feature]]
    by_family = {t["name"]: len(t["customdata"]) for t in spec["data"][:-1]}
    families = [p["family"] or "(none)" for p in want["points"]]
    assert by_family == {k: families.count(k) for k in set(families)}
    captions = " ".join(c.value for c in app.caption)
    assert f"{want['n_features']:,} features placed by {want['method']}" in captions
    app.selectbox(key="map_color").set_value("explanation").run()
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["marker"]["color"] == [
        p["explanation_f1"] or 0.0 for p in want["points"]
    ]


def test_influence_shows_the_logit_histogram(app, reader, feature):
    open_view(app, feature, "Influence")
    want = logit_histogram(reader, feature, 40)
    spec = json.loads(app.get("plotly_chart")[2].proto.spec)
    assert spec["data"][0]["y"] == want["counts"]
    text = " ".join(m.value for m in app.markdown)
    assert f"Over all {want['n_tokens']} output tokens" in text
    assert f"mean {want['mean']:+.4f}" in text
