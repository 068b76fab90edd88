"""The explorer's SAE picker (Streamlit AppTest): hidden over a home of one SAE; over a home
serving two (tests/variant_home.py) it switches every view to the picked variant (its
feature count, its numbers, its labels), is read from the URL (`?sae=alt`: the selectbox is
bound to it; AppTest does not simulate the browser's URL update on a pick), and a feature
id the new variant lacks becomes its last one."""

from __future__ import annotations

import numpy as np
import pytest

from splat_core.labels import LabelStore
from splat_core.query import Reader
from tests.ui.conftest import APP
from tests.variant_home import (
    ALT,
    ALT_FEATURES,
    private_copy,
)


@pytest.fixture
def variant_app(variant_home, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    home = private_copy(variant_home, tmp_path / "home")  # the test writes a label
    monkeypatch.setenv("SPLAT_HOME", str(home))
    return AppTest.from_file(str(APP), default_timeout=60), home


def ran(app):
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    return app


def fires_on(app) -> str:
    return {m.label: m.value for m in app.metric}["fires on"]


def test_no_picker_over_a_home_of_one_sae(app):
    ran(app)
    assert [s.label for s in app.sidebar.selectbox if s.label == "SAE"] == []


def test_the_picker_switches_the_variant(variant_app):
    app, home = variant_app
    default, alt = Reader.open(home), Reader.open(home, sae=ALT)
    f = int(np.argmax(alt.feature_counts()))
    LabelStore.open(home, ALT).set(f, name="alt label")
    app.query_params["feature"] = str(f)
    ran(app)
    picker = app.selectbox(key="sae")
    assert picker.label == "SAE" and picker.options == ["default", ALT]
    assert picker.value == "default"
    assert app.number_input(key="feature").max == default.n_features - 1
    assert fires_on(app) == f"{int(default.feature_counts()[f]):,}"
    assert "alt label" not in app.markdown[0].value
    picker.select(ALT)
    ran(app)
    assert app.number_input(key="feature").max == ALT_FEATURES - 1
    assert fires_on(app) == f"{int(alt.feature_counts()[f]):,}"
    assert app.markdown[0].value.startswith(f"### Feature {f}")
    assert "alt label" in app.markdown[0].value  # the variant's own label store
    assert any(f"{ALT_FEATURES} features · SAE {ALT}" in c.value for c in app.sidebar.caption)


def test_the_variant_comes_from_the_url_and_ids_are_kept_in_range(variant_app):
    app, home = variant_app
    default = Reader.open(home)
    app.query_params["feature"] = str(default.n_features - 1)  # beyond alt's last id
    ran(app)
    assert app.session_state["feature"] == default.n_features - 1
    app.selectbox(key="sae").select(ALT)
    ran(app)
    assert app.session_state["feature"] == ALT_FEATURES - 1
    assert app.markdown[0].value.startswith(f"### Feature {ALT_FEATURES - 1}")


def test_a_link_with_sae_opens_that_variant(variant_app):
    app, home = variant_app
    alt = Reader.open(home, sae=ALT)
    app.query_params["sae"] = ALT
    app.query_params["feature"] = "2"
    ran(app)
    assert app.selectbox(key="sae").value == ALT
    assert fires_on(app) == f"{int(alt.feature_counts()[2]):,}"
