"""Several SAEs of one home as partitions of the same assets: the default variant under the
plain names, `alt` as `<asset>@alt`, both computed from the same pooled vectors, each
planned, versioned and served on its own (the home: tests/variant_home.py, materialized by
the runner as `splat materialize` does)."""

from __future__ import annotations

import json
import shutil

import pytest

from splat_assets import definitions
from splat_assets.resources import SplatSettings
from splat_cli.main import main
from splat_core.pipeline.config import variant_configs
from splat_core.pipeline.freshness import stale_assets
from splat_core.query import Reader
from splat_core.store import catalog, generations, variants
from splat_core.store.contract import PER_SAE_ASSETS, stored_name
from tests.variant_home import ALT, ALT_FEATURES, ALT_SETTINGS


def test_the_served_generation_holds_both_variants_from_the_same_pooled_vectors(variant_home):
    versions = generations.served(variant_home)["versions"]
    for asset in PER_SAE_ASSETS:
        keys = [k for k in versions if k.split("/")[0] == stored_name(asset, ALT)]
        assert keys, f"{asset}@alt is not served"
        assert any(k.split("/")[0] == asset for k in versions)  # and the default's
    cat = catalog.read_catalog(variant_home)
    default, alt = cat["sae"], cat[stored_name("sae", ALT)]
    pooled = {k: v for k, v in default["inputs"].items() if k.startswith("pooled/")}
    assert pooled and {k: v for k, v in alt["inputs"].items() if k.startswith("pooled/")} == pooled
    assert default["fingerprint"] != alt["fingerprint"]  # genuinely another SAE
    # each variant's chain reads its own SAE
    shard = cat[stored_name("activations", ALT)]["partitions"]["000"]
    assert set(shard["inputs"]) == {stored_name("sae", ALT), "pooled/000"}
    stats = cat[stored_name("feature_stats", ALT)]
    assert set(stats["inputs"]) == {stored_name("feature_store", ALT)}
    # the comparison reads every variant
    assert {"sae", stored_name("sae", ALT)} <= set(cat["sae_comparison"]["inputs"])


def test_a_variant_trains_with_its_own_settings(variant_home):
    cfg = json.loads(
        (catalog.current_path(variant_home, "sae@alt") / "sae_config.json").read_text()
    )
    default = json.loads(
        (catalog.current_path(variant_home, "sae") / "sae_config.json").read_text()
    )
    assert cfg["n_features"] == ALT_FEATURES != default["n_features"]
    assert variants.settings_of(variant_home, ALT) == ALT_SETTINGS


def test_dagster_shows_the_variants_as_partitions_of_the_same_assets(variant_home):
    defs = definitions.build_definitions(SplatSettings(home=str(variant_home), profile="tiny"))
    graph = defs.resolve_asset_graph()
    assert graph.get(definitions.dg.AssetKey("sae")).partitions_def.get_partition_keys() == [
        "default", ALT]  # fmt: skip
    keys = graph.get(definitions.dg.AssetKey("activations")).partitions_def.get_partition_keys()
    assert keys == ["default|000", "default|001", f"{ALT}|000", f"{ALT}|001"]
    assert graph.get(definitions.dg.AssetKey("pooled")).partitions_def.get_partition_keys() == [
        "000", "001"]  # fmt: skip


def test_everything_is_up_to_date_then_redefining_a_variant_stales_only_its_assets(
    variant_home, tmp_path
):
    home = shutil.copytree(variant_home, tmp_path / "home", symlinks=True)
    configs = variant_configs(home, "tiny", [])
    assert stale_assets(catalog.read_catalog(home), configs["default"], None, configs) == {}
    variants.define(home, ALT, [*ALT_SETTINGS[:1], "sae.k=2", *ALT_SETTINGS[2:]])
    configs = variant_configs(home, "tiny", [])
    stale = stale_assets(catalog.read_catalog(home), configs["default"], None, configs)
    assert {k.split("/")[0] for k in stale} == {
        *(stored_name(a, ALT) for a in PER_SAE_ASSETS), "sae_comparison"}  # fmt: skip
    assert "other settings" in stale[stored_name("sae", ALT)]


def test_the_sae_command_defines_lists_and_refuses(variant_home, tmp_path, capsys):
    home = shutil.copytree(variant_home, tmp_path / "home", symlinks=True)
    assert main(["sae", "add", "wide", "arch=relu", "features=128", "--home", str(home),
                 "--profile", "tiny"]) == 0  # fmt: skip
    assert variants.settings_of(home, "wide") == ("sae.arch=relu", "sae.n_features=128")
    capsys.readouterr()
    assert main(["sae", "list", "--json", "--home", str(home)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert list(listed) == ["default", ALT, "wide"] and listed["default"] == []
    assert main(["sae", "add", "bad", "nonsense=1", "--home", str(home)]) == 2
    assert "nonsense" in capsys.readouterr().err
    assert main(["sae", "add", "default", "k=2", "--home", str(home)]) == 2
    assert main(["materialize", "--sae", "nope", "--home", str(home), "--profile", "tiny"]) == 2
    assert "no SAE variant 'nope'" in capsys.readouterr().err
    assert main(["sae", "remove", "wide", "--home", str(home)]) == 0
    assert list(variants.defined(home)) == ["default", ALT]


@pytest.mark.parametrize("name", ["../x", "a|b", "", "x" * 41])
def test_variant_names_are_path_and_partition_safe(tmp_path, name):
    with pytest.raises(ValueError):
        variants.define(tmp_path, name, ["sae.k=2"])


def test_the_comparison_measures_each_variant_as_its_sae_asset_did(variant_home):
    rows = {r["sae"]: r for r in Reader.open(variant_home).sae_comparison().variants.to_pylist()}
    assert list(rows) == ["default", ALT]
    for name, row in rows.items():
        metrics = json.loads((catalog.current_path(variant_home, stored_name("sae", name))
                              / "metrics.json").read_text())  # fmt: skip
        for key in ("loss_recovered", "explained_variance", "mean_l0", "dead_fraction"):
            assert row[key] == pytest.approx(metrics[key], rel=1e-5, abs=1e-6), (name, key)


def test_materialize_one_new_variant_leaves_the_others_alone(variant_home, tmp_path, capsys):
    home = shutil.copytree(variant_home, tmp_path / "home", symlinks=True)
    before = generations.served(home)["versions"]
    assert main(["materialize", "--sae-variant", "wide features=16 k=2", "--home", str(home),
                 "--profile", "tiny"]) == 0  # fmt: skip
    after = generations.served(home)["versions"]
    changed = {k for k in after if before.get(k) != after[k]}
    assert {k.split("/")[0] for k in changed} == {
        *(stored_name(a, "wide") for a in PER_SAE_ASSETS), "sae_comparison"}  # fmt: skip
    rows = Reader.open(home).sae_comparison().variants.to_pylist()
    assert [(r["sae"], r["n_features"], r["k"]) for r in rows][2] == ("wide", 16, 2)
    capsys.readouterr()
    assert main(["materialize", "--sae", "wide", "--home", str(home), "--profile", "tiny"]) == 0
    assert "up to date" in capsys.readouterr().out
