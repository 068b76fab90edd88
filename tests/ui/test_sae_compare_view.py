"""The explorer's "SAEs" tab (Streamlit AppTest): over a home serving two variants with their
`sae_comparison` published (tests/variant_home.py), a person picks the pair and a category
and sees the asset's numbers; a feature's button opens it in its variant. Over the tiny home
(one variant, no comparison) the tab says so. The rows' computation is tested without
Streamlit (investigate/sae_compare.py) against the stored matching."""

from __future__ import annotations

import pytest

from splat_core.investigate import sae_compare
from splat_core.query import MissingAssetError, Reader
from splat_core.sae.matching import A_CATEGORIES
from tests.ui.conftest import APP
from tests.variant_home import (
    ALT,
    ALT_FEATURES,
    private_copy,
)

A, B = ALT, "default"  # the pair's order: the narrower SAE first (alt: 32 features, 64)


def ran(app):
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    return app


@pytest.fixture
def compare_app(comparison_home, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    home = private_copy(comparison_home, tmp_path / "home")
    monkeypatch.setenv("SPLAT_HOME", str(home))
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.query_params["view"] = "SAEs"
    app.query_params["feature"] = "0"
    return app, home


def metrics(app) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def test_every_variant_reader_reads_the_same_comparison(comparison_home):
    default, alt = Reader.open(comparison_home), Reader.open(comparison_home, sae=ALT)
    c = default.sae_comparison()
    assert c.variants.equals(alt.sae_comparison().variants)
    assert c.variants.column("sae").to_pylist() == ["default", ALT]
    assert c.variants.column("n_features").to_pylist() == [default.n_features, ALT_FEATURES]
    assert sae_compare.pairs(c) == [(A, B)]
    assert c.matching.num_rows == ALT_FEATURES  # one row per feature of A (alt)


def test_a_home_without_it_raises_missing(investigation_reader):
    with pytest.raises(MissingAssetError):
        investigation_reader.sae_comparison()


def test_a_home_of_one_variant_compares_nothing(tiny_reader):
    try:
        c = tiny_reader.sae_comparison()
    except MissingAssetError:  # the Dagster graph does not materialize it (yet)
        return
    assert c.variants.column("sae").to_pylist() == ["default"]
    assert c.matching.num_rows == 0 and sae_compare.pairs(c) == []


def test_the_rows_join_the_matching_with_both_sides_tokens(comparison_home):
    readers = {"default": Reader.open(comparison_home), ALT: Reader.open(comparison_home, sae=ALT)}
    c = readers["default"].sae_comparison()
    stored = {r["feature_a"]: r for r in c.matching.to_pylist()}  # the one pair: A's rows
    for category in A_CATEGORIES:
        rows = sae_compare.category_rows(c, A, B, category, readers, limit=1000)
        assert len(rows) == sae_compare.pair_summary(c, A, B)["counts"][category]
        assert [r["n_fire"] for r in rows] == sorted((r["n_fire"] for r in rows), reverse=True)
        for row in rows:
            want = stored[row["feature_a"]]
            assert want["category"] == category
            assert row["matched_b"] == sae_compare.matched(want)
            assert row["feature_b"] == (row["matched_b"][0] if row["matched_b"] else -1)
            top = [t for t in readers[A].tokens(row["feature_a"]) if t["kind"] == "enhancer"]
            assert len(row["tokens_a"]) == min(3, len(top))
            if row["feature_b"] >= 0:
                assert row["tokens_b"] == sae_compare.top_tokens(readers[B], row["feature_b"])


def test_pareto_front_flags():
    rows = [{"mean_l0": 4, "explained_variance": 0.9}, {"mean_l0": 3, "explained_variance": 0.8},
            {"mean_l0": 5, "explained_variance": 0.85}]  # fmt: skip

    class C:
        variants = type("T", (), {"to_pylist": lambda self: [dict(r) for r in rows]})()

    assert [r["pareto"] for r in sae_compare.variant_rows(C)] == [True, True, False]


def test_one_variant_without_comparison_says_so(app):
    app.query_params["view"] = "SAEs"
    ran(app)
    assert any("No SAE comparison" in i.value or "one SAE variant" in i.value for i in app.info)


def test_pick_the_pair_and_a_category_and_open_a_match(compare_app):
    app, home = compare_app
    summary = Reader.open(home).sae_comparison().summary["pairs"][0]
    ran(app)
    assert len(app.get("plotly_chart")) >= 1
    variants = next(d.value for d in app.dataframe if "explained_variance" in d.value)
    assert list(variants["sae"]) == ["default", ALT]
    a, b = app.selectbox(key="saes_a"), app.selectbox(key="saes_b")
    assert a.options == [A] and b.options == [B]
    a.select(A)
    ran(app)
    app.selectbox(key="saes_b").select(B)
    ran(app)
    shown = metrics(app)
    for category in A_CATEGORIES:
        assert shown[category] == f"{summary['counts'][category]:,}"
    assert shown["MMCS"] == f"{summary['summary']['mmcs']:.3f}"
    assert shown[f"absorption · {A}"] == (
        "-" if summary["absorption"][0]["mean_absorption_rate"] is None
        else f"{summary['absorption'][0]['mean_absorption_rate']:.3f}"
    )  # fmt: skip
    picker = app.selectbox(key=f"saes_category_{A}_{B}")
    present = [c for c in A_CATEGORIES if summary["counts"][c]]
    assert picker.options == [f"{c} ({summary['counts'][c]:,})" for c in present]
    with_match = [c for c in present if c not in ("unmatched_a", "dead")]
    category = max(with_match or present, key=lambda c: summary["counts"][c])
    picker.select(category)
    ran(app)
    n = summary["counts"][category]
    assert any(f"{min(n, 20)} of {n:,} features of {A} in `{category}`" in c.value
               for c in app.caption)  # fmt: skip
    buttons = [x for x in app.button if x.key and x.key.startswith(f"saes_open_b_{A}_{B}_")]
    if not buttons:  # no B match in this category: open an A feature instead
        button = next(x for x in app.button if x.key and x.key.startswith("saes_open_a_"))
        sae, f = A, int(button.key.rsplit("_", 1)[1])
    else:
        button = buttons[0]
        sae, f = B, int(button.label.split("#")[1])
    button.click()
    ran(app)
    assert app.session_state["sae"] == sae and app.session_state["feature"] == f
    assert app.markdown[0].value.startswith(f"### Feature {f}")
    if sae == ALT:
        assert any(f"{ALT_FEATURES} features · SAE {ALT}" in c.value for c in app.sidebar.caption)
