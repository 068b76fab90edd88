"""The explanation block at the top of every feature page (Streamlit AppTest): the
feature_explanations table's numbers, read here with pyarrow; failures shown as such; the
best rule accepted as the feature's label."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from splat_core.domain import present
from splat_core.explain.table import CONFIG_KEY
from splat_core.investigate.explanations import explain_feature
from splat_core.labels import LabelStore
from splat_core.store import catalog
from tests.helpers import publish_table
from tests.ui.test_views import open_view


def table(home):
    path = Path(catalog.read_catalog(home)["feature_explanations"]["path"])
    return pq.read_table(path / "feature_explanations.parquet")


def rows_of(home, f: int) -> list[dict]:
    t = table(home)
    return sorted(t.filter(pc.equal(t["feature_id"], f)).to_pylist(), key=lambda r: r["rank"])


def expand(app, f: int):
    app.session_state[f"explain_more_{f}"] = True
    app.run()
    assert not app.exception and not app.error
    return app


def test_block_shows_the_tables_numbers(app, home, reader, feature):
    rows = rows_of(home, feature)
    best = rows[0]
    open_view(app, feature)
    text = " ".join(m.value for m in app.markdown)
    assert f"{best['confidence']} confidence] {best['sentence']}" in text
    line = next(c.value for c in app.caption if c.value.startswith("held-out F1"))
    assert line.startswith(f"held-out F1 **{best['f1']:.3f}** vs null {best['null_f1']:.3f}")
    assert f"precision {best['precision']:.3f} · recall {best['recall']:.3f}" in line
    assert f"AUROC {best['auroc']:.3f} vs null {best['null_auroc']:.3f}" in line
    assert f"on {present.share(best['coverage'])} of samples" in line
    n_tables = len(app.dataframe)  # the Overview's; the details render only when opened

    expand(app, feature)
    assert len(app.dataframe) == n_tables + 3
    assert app.code[0].value == best["rule"]
    ranked, misses, negatives = [d.value for d in app.dataframe[:3]]
    assert list(ranked["rule"]) == [r["rule"] for r in rows]
    assert list(ranked["f1"]) == pytest.approx([r["f1"] for r in rows])
    assert list(ranked["null_f1"]) == pytest.approx([r["null_f1"] for r in rows])
    ex = explain_feature(reader, feature)
    assert list(misses["sample_id"]) == [e["sample_id"] for e in ex["misses"]]
    assert list(negatives["sample_id"]) == [e["sample_id"] for e in ex["hard_negatives"]]
    assert (negatives["activation"] == 0).all()


def test_unexplained_and_chance_features_say_so(app, home, reader, feature):
    t = table(home)
    quiet, chance = feature, (feature + 1) % reader.n_features
    config = {**json.loads(t.schema.metadata[CONFIG_KEY]), "min_positives": 10**6}
    t = t.filter(pc.not_equal(t["feature_id"], quiet))
    best = pc.and_(pc.equal(t["feature_id"], chance), pc.equal(t["rank"], 1))
    t = t.set_column(
        t.schema.get_field_index("confidence"),
        "confidence",
        pc.if_else(best, "none", t["confidence"]),
    ).replace_schema_metadata({CONFIG_KEY: json.dumps(config)})
    publish_table(home, "feature_explanations", t)

    open_view(app, quiet)
    text = " ".join(m.value for m in app.markdown)
    assert "**Not explained**" in text and "fewer than 1,000,000 firing samples to search" in text
    assert not [b for b in app.button if b.label == "Accept as label"]

    app.number_input(key="feature").set_value(chance).run()
    text = " ".join(m.value for m in app.markdown)
    assert "no better than chance" in text
    assert rows_of(home, chance)[0]["sentence"] in text  # the failed rule is shown
    assert app.button(key=f"accept_{chance}").disabled


def test_accept_the_best_rule_as_label(app, home, feature):
    best = rows_of(home, feature)[0]
    open_view(app, feature)
    app.button(key=f"accept_{feature}").click().run()
    assert not app.exception and not app.error
    label = LabelStore.open(home).get(feature)
    assert (label.source, label.rule, label.name) == ("auto", best["rule"], best["sentence"])
    assert label.rule_score["f1"] == pytest.approx(best["f1"])
    assert any("Saved label" in s.value for s in app.success)
    assert app.markdown[0].value == f"### Feature {feature} · {best['sentence']}"
    assert app.sidebar.text_input(key=f"label_{feature}_name").value == best["sentence"]
    assert any(c.value.startswith(f"rule `{best['rule']}`") for c in app.sidebar.caption)

    # the label editor keeps the rule and its score when the name changes
    app.sidebar.text_input(key=f"label_{feature}_name").input("Respawn roller")
    app.sidebar.button[-1].click().run()
    renamed = LabelStore.open(home).get(feature)
    assert (renamed.name, renamed.rule, renamed.rule_score) == (
        "Respawn roller", label.rule, label.rule_score,
    )  # fmt: skip
