"""The feature picker (URL, id, label text, output token), the label editor (save, conflict)
and missing assets (a clear message, never made-up numbers)."""

from __future__ import annotations

import shutil

from splat_core.labels import LabelStore
from splat_core.store.generations import GENERATION, HISTORY
from tests.ui.test_views import open_view


def test_feature_comes_from_the_url_and_goes_back_to_it(app, reader):
    open_view(app, 3)
    assert app.number_input(key="feature").value == 3
    app.button(key="next").click().run()
    assert app.session_state["feature"] == 4
    assert app.query_params["feature"] == "4"
    assert app.markdown[0].value.startswith("### Feature 4")


def test_an_unknown_feature_in_the_url_falls_back(app, reader):
    app.query_params["feature"] = str(reader.n_features + 5)
    app.run()
    assert not app.exception
    assert app.number_input(key="feature").value == 0


def test_find_by_label_text_and_by_token(app, home, reader, feature):
    LabelStore.open(home).set(7, name="Swim stacker", source="test")
    open_view(app, feature)
    app.sidebar.text_input(key="find_label").input("swim").run()
    go = [b for b in app.sidebar.button if b.label.startswith("#7 · Swim stacker")]
    assert go
    go[0].click().run()
    assert app.session_state["feature"] == 7
    token = "swim_speed_up_21"
    app.sidebar.selectbox(key="find_token").select(token).run()
    pushers = reader.token_features(token, k=8, sign="+")
    labels = [b.label for b in app.sidebar.button if b.key and b.key.startswith("find_token_")]
    assert len(labels) == len(pushers)
    assert labels[0].endswith(f"{pushers[0]['value']:+.3f}")


def test_save_a_label(app, home, feature):
    open_view(app, feature)
    app.sidebar.text_input(key=f"label_{feature}_name").input("Special charger")
    app.sidebar.selectbox(key=f"label_{feature}_category").select("tactical")
    app.sidebar.select_slider(key=f"label_{feature}_confidence").set_value(0.7)
    app.sidebar.text_area(key=f"label_{feature}_notes").input("SCU 29")
    app.sidebar.button[-1].click().run()  # the form's Save
    label = LabelStore.open(home).get(feature)
    assert (label.name, label.category, label.confidence, label.notes, label.source) == (
        "Special charger", "tactical", 0.7, "SCU 29", "ui",
    )  # fmt: skip
    assert any("Saved label" in s.value for s in app.sidebar.success)
    assert app.markdown[0].value == f"### Feature {feature} · Special charger [tactical]"


def test_a_label_written_meanwhile_is_not_overwritten(app, home, feature):
    open_view(app, feature)  # the form loads "no label" (version 0)
    LabelStore.open(home).set(feature, name="From the API", source="api")
    app.sidebar.text_input(key=f"label_{feature}_name").input("From the UI")
    app.sidebar.button[-1].click().run()
    assert LabelStore.open(home).get(feature).name == "From the API"
    assert any("changed meanwhile" in e.value for e in app.sidebar.error)
    app.sidebar.button[-1].click().run()  # saving again replaces it, knowingly
    assert LabelStore.open(home).get(feature).name == "From the UI"


def test_a_missing_analysis_asset_is_a_message(app, home, feature):
    # a home that never had it: no feature_tokens, and no generation naming one
    for name in ("feature_tokens", GENERATION, HISTORY):
        path = home / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    app.query_params["feature"] = str(feature)
    app.query_params["view"] = "Tokens"
    app.run()
    assert not app.exception
    assert any("feature_tokens" in e.value for e in app.error)
    assert any("splat materialize" in i.value for i in app.info)
    assert not app.dataframe  # nothing made up


def test_an_empty_home_says_what_to_do(app, home):
    for child in home.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    app.run()
    assert not app.exception
    assert "Nothing to explore yet" in app.error[0].value
