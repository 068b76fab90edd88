"""Each view of the explorer (Streamlit AppTest) against a tiny materialized home: it
renders without an error and shows the query layer's numbers."""

from __future__ import annotations

import pytest

from splat_core.domain import present
from splat_ui.views import VIEWS


def open_view(app, f: int, view: str = "Overview"):
    app.query_params["feature"] = str(f)
    if view != "Overview":
        app.query_params["view"] = view
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    return app


def tables(app) -> list:
    return [d.value for d in app.dataframe]


@pytest.mark.parametrize("view", list(VIEWS))
def test_every_view_renders(app, feature, view):
    open_view(app, feature, view)
    assert app.markdown[0].value.startswith(f"### Feature {feature}")
    assert app.session_state["feature"] == feature


def test_overview_shows_the_stats_table(app, reader, feature):
    open_view(app, feature)
    stats = reader.stats(feature)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["fires on"] == f"{int(reader.feature_counts()[feature]):,}"
    assert metrics["max"] == f"{stats['max']:.4f}"
    assert metrics["p99.5"] == f"{stats['p99_5']:.4f}"
    shown = tables(app)[0].set_index("statistic")["value"]
    assert shown["median"] == f"{stats['p50']:.4f}"
    assert shown["mean (all samples)"] == f"{stats['mean_all']:.4f}"
    assert shown["density"] == present.share(stats["density"])
    assert len(app.get("plotly_chart")) == 1


def test_top_examples_match_the_reader(app, reader, feature):
    open_view(app, feature, "Top examples")
    app.toggle(key=f"group_{feature}").set_value(False).run()
    frame = tables(app)[0]
    expected = reader.top_examples(feature, 20)
    assert list(frame["sample_id"]) == [e.sample_id for e in expected]
    assert list(frame["activation"]) == pytest.approx([e.activation for e in expected])
    assert list(frame["weapon"]) == [e.weapon.name for e in expected]
    assert list(frame["build"].iloc[0]) == present.build_texts(expected[0].tokens)


def test_top_examples_grouped_builds_and_negatives(app, reader, feature):
    from splat_core.investigate import examples as ex

    open_view(app, feature, "Top examples")
    frame = tables(app)[0]  # grouped by default
    groups = ex.grouped_examples(reader, feature, 20)
    assert list(frame["sample_id"]) == [g.sample_ids[0] for g in groups]
    assert list(frame["count"]) == [g.count for g in groups]
    b = ex.containing_builds(reader, groups[0].sample_ids[0], 20)
    assert any(f"from build {b.build.build_id}" in m.value for m in app.markdown)
    neg = ex.non_activating(reader, feature, 20, 0)
    hard = [t for t in tables(app) if "shared" in t]
    assert list(hard[0]["sample_id"]) == [n.sample_id for n in neg.hard]
    app.radio(key=f"neg_kind_{feature}").set_value("random").run()
    shown = [t for t in tables(app) if "shared" in t][0]
    assert list(shown["sample_id"]) == [n.sample_id for n in neg.random]


def test_intervals_cover_the_activation_range(app, reader, feature):
    open_view(app, feature, "Intervals")
    shown = tables(app)
    examples = reader.quantile_examples(feature, 8, 5, 0)
    assert len(shown) == len({e.bin for e in examples})
    assert shown[0]["activation"].min() >= shown[-1]["activation"].max()  # high bin first
    assert sum(len(t) for t in shown) == len(examples)


def test_tokens_show_enhancers_suppressors_and_weapons(app, reader, feature):
    open_view(app, feature, "Tokens")
    shown = tables(app)
    rows = reader.tokens(feature)
    enh = [present.token_name(r["token"]) for r in rows if r["kind"] == "enhancer"]
    assert list(shown[0]["token"]) == enh
    weapons = [r["name"] for r in reader.weapons(feature) if r["kind"] == "weapon"]
    assert list(shown[-4]["name"]) == weapons
    assert any("TF-IDF" in m.value for m in app.markdown)


def test_influence_charts_the_top_tokens(app, reader, feature):
    open_view(app, feature, "Influence")
    charts = app.get("plotly_chart")
    assert len(charts) == 3  # raises, lowers, the histogram over all tokens
    up = [r for r in reader.influence(feature) if r["sign"] == "+"]
    assert f"({len(up)} tokens)" in " ".join(m.value for m in app.markdown)


def test_neighbors_link_to_features(app, reader, feature):
    open_view(app, feature, "Neighbours")
    shown = tables(app)
    for frame, kind in zip(shown, ("decoder", "coactivation"), strict=True):
        ids = [r["neighbor_id"] for r in reader.neighbors(feature) if r["kind"] == kind]
        assert list(frame["feature_id"]) == ids
        assert list(frame["link"]) == [f"?feature={g}" for g in ids]


def test_sweeps_by_family_and_heatmap(app, feature):
    open_view(app, feature, "Sweeps")
    assert len(app.get("plotly_chart")) == 2
    app.selectbox(key=f"sweep_family_{feature}").select("swim_speed_up").run()
    assert not app.exception
    app.selectbox(key=f"hm_x_{feature}").select("run_speed_up").run()
    app.selectbox(key=f"hm_y_{feature}").select("run_speed_up").run()
    assert any("two different families" in i.value for i in app.info)


def test_whatif_starts_from_the_stored_example_and_follows_edits(app, reader, feature):
    open_view(app, feature, "What-if")
    top = reader.top_examples(feature, 1)[0]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["start"] == f"{top.activation:.4f}"  # the model reproduces the store
    encoded = reader.encode(top.weapon.weapon_id, present.build_ap(top.tokens))
    assert metrics[f"feature {feature}, edited"] == f"{encoded.activations[feature]:.4f}"
    app.select_slider(key=f"wi_{feature}_swim_speed_up").set_value(21).run()
    ap = {**present.build_ap(top.tokens), "swim_speed_up": 21}
    if sum(ap.values()) <= 57:
        edited = reader.encode(top.weapon.weapon_id, ap).activations[feature]
        metrics = {m.label: m.value for m in app.metric}
        assert metrics[f"feature {feature}, edited"] == f"{edited:.4f}"
    assert len(tables(app)) == 2  # predictions, single edits


def test_all_features_table(app, reader, feature):
    open_view(app, feature, "All features")
    frame = tables(app)[0]
    assert len(frame) == int((reader.feature_counts() > 0).sum())
    row = frame.set_index("feature_id").loc[feature]
    assert row["nnz"] == int(reader.feature_counts()[feature])
    app.toggle(key="features_live").set_value(False).run()
    assert len(tables(app)[0]) == reader.n_features


def test_all_features_sql_filter(app, reader, feature):
    from splat_core.query import sql

    open_view(app, feature, "All features")
    app.toggle(key="features_live").set_value(False).run()
    app.text_input(key="features_sql").set_value("nnz >= 500 AND name IS NULL").run()
    assert not app.error
    with sql.connect(reader) as con:
        expected = sql.features_where(con, "nnz >= 500 AND name IS NULL")
    assert expected and list(tables(app)[0]["feature_id"]) == expected
    app.text_input(key="features_sql").set_value("nope > 1").run()
    assert "nope" in app.error[0].value
    assert len(tables(app)[0]) == reader.n_features  # a refused condition filters nothing


def test_steer_shows_the_core_functions_changes(app, reader, feature):
    from splat_core import investigate as inv

    open_view(app, feature, "Steer")
    top = reader.top_examples(feature, 1)[0]

    def want(op, value):
        edits = [inv.FeatureEdit(feature, op, value)]
        return inv.steer_tokens(reader, top.weapon.weapon_id, top.tokens, edits)

    shown = tables(app)[0]
    r = want("scale", 0.0)  # the default: the feature ablated
    assert list(shown["delta"]) == [c["delta"] for c in r["changes"][:15]]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics[f"feature {feature}"] == "0.0000"
    app.slider(key=f"st_{feature}_scale").set_value(1.0).run()
    assert not app.exception
    assert (tables(app)[0]["delta"] == 0).all()  # scale by 1: the model's own output
    assert {m.label: m.value for m in app.metric}["completion changes"] == "0"
