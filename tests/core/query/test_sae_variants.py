"""A Reader per SAE variant: over a home serving two SAEs (tests/variant_home.py), the alt
variant's reader answers from alt's assets (checked against alt's SAE run on the pooled
vectors directly), the default's from the default's, unknown variants are refused naming
the served ones, live readers keep their variant, and SQL and labels are per variant."""

from __future__ import annotations

import json

import numpy as np
import pytest

from splat_core.labels import LabelStore
from splat_core.query import LiveReader, Reader, Snapshot, UnknownSAEError, sql
from splat_core.store import generations, publishing
from splat_core.store.artifacts import open_input
from splat_core.store.contract import PER_SAE_ASSETS
from splat_core.store.variants import UnknownVariantError
from tests.variant_home import (
    ALT,
    ALT_FEATURES,
    dense_activations,
    private_copy,
)


@pytest.fixture(scope="module")
def dense(variant_home):
    """{variant: its SAE's dense activations over every sample}, computed directly."""
    return {sae: dense_activations(variant_home, sae) for sae in ("default", ALT)}


def test_the_generation_serves_both_variants(variant_home):
    versions = generations.served(variant_home)["versions"]
    for asset in PER_SAE_ASSETS:
        assert any(k.split("/")[0] == f"{asset}@{ALT}" for k in versions), asset
        assert any(k.split("/")[0] == asset for k in versions), asset
    with Reader.open(variant_home) as r:
        assert r.sae == "default" and r.saes == ["default", ALT]


def test_each_reader_reads_its_own_variant(variant_home, dense):
    default, alt = Reader.open(variant_home), Reader.open(variant_home, sae=ALT)
    assert alt.sae == ALT and alt.saes == ["default", ALT]
    assert (default.n_features, alt.n_features) == (dense["default"].shape[1], ALT_FEATURES)
    assert default.n_samples == alt.n_samples == len(dense[ALT])
    for r, acts in ((default, dense["default"]), (alt, dense[ALT])):
        counts = (acts > 0).sum(axis=0)
        np.testing.assert_array_equal(r.feature_counts(), counts)
        for f in np.argsort(-counts)[:3]:
            ids, values = r.activations(int(f))
            want = np.flatnonzero(acts[:, f] > 0)
            assert sorted(ids.tolist()) == want.tolist()
            np.testing.assert_allclose(values, acts[ids, f], rtol=1e-5, atol=1e-6)
            assert (np.diff(values) <= 0).all()  # highest first
        # the analysis tables are the variant's: stats count its activations
        stats = r.table("feature_stats").table
        np.testing.assert_array_equal(stats.column("nnz").to_numpy(),
                                      counts[stats.column("feature_id").to_numpy()])  # fmt: skip
        # and the per-sample CSR shards too
        s = int(np.argmax((acts > 0).sum(axis=1)))
        row = r.sample_features(s, k=100)
        assert {x["feature_id"] for x in row} == set(np.flatnonzero(acts[s] > 0).tolist())


def test_encode_uses_the_variants_sae(variant_home):
    """The same build through the shared model, then each variant's SAE."""
    import torch

    from splat_core.store.artifacts import open_artifact
    from tests.variant_home import served_dir

    default, alt = Reader.open(variant_home), Reader.open(variant_home, sae=ALT)
    weapon = default.vocabularies[1].weapon_ids[0]
    a, b = default.encode(weapon, {}), alt.encode(weapon, {})
    np.testing.assert_array_equal(a.pooled, b.pooled)  # the model is shared
    assert a.probabilities == b.probabilities
    sae = open_artifact(served_dir(variant_home, "sae", ALT))
    with torch.no_grad():
        want = sae.encode(torch.from_numpy(b.pooled[None])).numpy()[0]
    assert b.activations.shape == (ALT_FEATURES,) and a.activations.shape != (ALT_FEATURES,)
    np.testing.assert_allclose(b.activations, want, rtol=1e-5, atol=1e-6)


def test_versions_name_the_variants_assets(variant_home):
    served = generations.served(variant_home)["versions"]
    default, alt = Reader.open(variant_home), Reader.open(variant_home, sae=ALT)
    assert alt.versions["sae"] == served[f"sae@{ALT}"]
    assert alt.versions["feature_stats"] == served[f"feature_stats@{ALT}"]
    assert alt.versions["activations/000"] == served[f"activations@{ALT}/000"]
    assert alt.versions["samples/000"] == default.versions["samples/000"] == served["samples/000"]
    assert default.versions["sae"] == served["sae"]
    assert not any("@" in k for k in default.versions) and not any("@" in k for k in alt.versions)
    assert default.all_versions == alt.all_versions == served
    assert alt.data_version != default.data_version  # answers of the two are told apart
    assert alt.path("feature_store").parent.name == f"feature_store@{ALT}"
    assert default.partitions("samples") == alt.partitions("samples")


def test_an_unknown_variant_is_refused_naming_the_served_ones(variant_home, tiny_home):
    with pytest.raises(UnknownSAEError) as e:
        Reader.open(variant_home, sae="wide")
    assert e.value.known == ["default", ALT] and "'wide'" in str(e.value)
    assert "default, alt" in str(e.value)
    assert isinstance(e.value, UnknownVariantError) and isinstance(e.value, KeyError)
    with pytest.raises(UnknownSAEError, match="it holds: default$"):
        Snapshot.open(tiny_home, sae=ALT)
    with pytest.raises(UnknownSAEError):
        Reader.open(variant_home, sae="../sae")  # never a path


def test_a_variant_missing_an_asset_is_not_served(variant_home, tmp_path):
    """A variant is served only while the generation holds all its per-SAE assets."""
    home = private_copy(variant_home, tmp_path / "home")
    gen = json.loads((home / "GENERATION.json").read_text())
    del gen["versions"][f"feature_map@{ALT}"]
    (home / "GENERATION.json").write_text(json.dumps(gen))
    assert Reader.open(home).saes == ["default"]
    with pytest.raises(UnknownSAEError):
        Reader.open(home, sae=ALT)


def _republish_stats(home):
    """A new version of alt's feature_stats (the same step again)."""
    from splat_core.pipeline.analysis_steps import feature_stats_step
    from splat_core.pipeline.config import home_config

    cfg = home_config(home, "tiny", [], ALT)
    store = open_input(home, f"feature_store@{ALT}", None)
    with publishing.staged(home, f"feature_stats@{ALT}") as out:
        meta = feature_stats_step(out, {"feature_store": store}, cfg).metadata
        publishing.publish(home, f"feature_stats@{ALT}", out, meta, config=cfg)


def test_live_readers_keep_their_variant(variant_home, tmp_path):
    home = private_copy(variant_home, tmp_path / "home")
    now = [0.0]
    live = LiveReader(home, check_every=1.0, clock=lambda: now[0])
    default, alt = live.get(), live.get(ALT)
    assert (default.sae, alt.sae) == ("default", ALT) and live.get(ALT) is alt
    assert live.get(None) is default and live.saes == ["default", ALT]
    with pytest.raises(UnknownSAEError):
        live.get("wide")
    before, csc = alt.versions["feature_stats"], alt.csc
    _republish_stats(home)
    assert live.get(ALT) is alt  # not due yet
    now[0] = 2.0
    new_alt, new_default = live.get(ALT), live.get()
    assert new_alt is not alt and new_alt.sae == ALT and new_alt.n_features == ALT_FEATURES
    assert new_alt.versions["feature_stats"] != before
    assert new_default.sae == "default" and new_default.n_features == default.n_features
    assert new_default.versions["feature_stats"] == default.versions["feature_stats"]
    # successor kept what was still current (the feature store), refresh keeps the variant
    assert new_alt.csc is csc
    r = Reader.open(home, sae=ALT)
    assert r.refresh() is False and r.sae == ALT


def test_sql_views_are_the_variants(variant_home, tmp_path):
    home = private_copy(variant_home, tmp_path / "home")
    LabelStore.open(home, ALT).set(3, name="alt three")
    LabelStore.open(home).set(4, name="default four")
    count = "SELECT count(*) AS n, max(feature_id) AS top FROM feature_stats"
    labelled = "SELECT feature_id, name FROM labels"
    with sql.connect(Reader.open(home, sae=ALT)) as con:
        assert sql.rows(sql.query(con, count)) == [{"n": ALT_FEATURES, "top": ALT_FEATURES - 1}]
        assert sql.rows(sql.query(con, labelled)) == [{"feature_id": 3, "name": "alt three"}]
    with sql.connect(home) as con:  # a home: the default variant
        n = Reader.open(home).n_features
        assert sql.rows(sql.query(con, count)) == [{"n": n, "top": n - 1}]
        assert sql.rows(sql.query(con, labelled)) == [{"feature_id": 4, "name": "default four"}]
    with sql.connect(home, sae=ALT) as con:
        assert sql.rows(sql.query(con, count))[0]["n"] == ALT_FEATURES
    with pytest.raises(UnknownSAEError):
        sql.connect(home, sae="wide")


def test_label_stores_are_per_variant(tmp_path):
    home = tmp_path / "home"
    assert LabelStore.location(home) == home / "labels" / "labels.sqlite"
    assert LabelStore.location(home, "default") == LabelStore.location(home, None)
    assert LabelStore.location(home, ALT) == home / "labels" / f"labels@{ALT}.sqlite"
    LabelStore.open(home, ALT).set(1, name="x")
    assert LabelStore.exists(home, ALT) and not LabelStore.exists(home)
    assert LabelStore.open(home).get(1) is None and LabelStore.open(home, ALT).get(1).name == "x"
    with pytest.raises(ValueError):
        LabelStore.location(home, "../x")
