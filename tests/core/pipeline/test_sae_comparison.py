"""The `sae_comparison` step (pipeline/analysis_steps.py) on two small SAEs trained on planted
sparse codes: every variant's numbers recomputed with numpy from the modules, the matching
rows equal to what compare_saes and match_features give, the JSON's counts equal to the
rows', the directory opened by its kind, and the check failing on corrupted rows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest
import torch

from splat_core.builds.samples import make_samples, shard_builds
from splat_core.builds.synth import SynthConfig, generate_builds
from splat_core.pipeline.analysis_steps import (
    ANALYSIS_STEPS,
    check_sae_comparison,
    sae_comparison_step,
)
from splat_core.pipeline.config import load_config
from splat_core.pipeline.sae_variants import compare_saes
from splat_core.sae import SAEConfig, build_sae, train_sae
from splat_core.sae.matching import A_CATEGORIES
from splat_core.store.artifacts import SAEComparison, open_artifact, read_sae_comparison_dir
from splat_core.store.contract import ANALYSIS_ASSETS, SPECS
from splat_core.store.integrity import write_manifest
from tests.helpers import planted_codes, quiet

D = 16


@pytest.fixture(scope="module")
def data():
    """Two shards of samples of synthetic builds, and pooled vectors of planted codes."""
    builds = generate_builds(SynthConfig(n_builds=300, seed=0))
    samples = {f"{i:03d}": make_samples(builds, shard_builds(300, 2, i), 3, True, 0)
               for i in range(2)}  # fmt: skip
    n = sum(len(s) for s in samples.values())
    x, _dirs = planted_codes(n, d=D, m=12, active=2, seed=1)
    cut = len(samples["000"])
    pooled = {"000": x[:cut], "001": x[cut:]}
    return pooled, samples, x


def trained(x, n_features: int, k: int, seed: int):
    torch.manual_seed(seed)
    cfg = SAEConfig(arch="topk", n_features=n_features, k=k, aux_k=4, epochs=40, batch_size=128,
                    seed=seed).resolved(D)  # fmt: skip
    return train_sae(x, cfg, quiet).sae.eval()


@pytest.fixture(scope="module")
def saes(data):
    x = data[2]
    narrow = trained(x, 16, 2, 0)
    wide = trained(x, 32, 3, 1)
    return {"wide": wide, "default": narrow}  # the default is written first whatever the order


@pytest.fixture(scope="module")
def written(data, saes, tmp_path_factory):
    pooled, samples, _ = data
    out = tmp_path_factory.mktemp("sae_comparison")
    inputs = {"sae": saes, "pooled": pooled, "samples": samples}
    result = sae_comparison_step(out, inputs, load_config("tiny"))
    return out, result


def test_the_step_is_the_last_analysis_step():
    assert list(ANALYSIS_STEPS)[-1] == "sae_comparison"
    assert set(ANALYSIS_STEPS) == set(ANALYSIS_ASSETS)
    assert SPECS["sae_comparison"].across_saes


def test_files_open_by_kind_and_the_check_passes(written):
    out, result = written
    assert {p.name for p in out.iterdir()} == {"artifact.json", *SPECS["sae_comparison"].files}
    assert result.check.passed, result.check.metadata
    assert result.metadata["variants"] == ["default", "wide"] and result.metadata["pairs"] == 1
    write_manifest(out, asset="sae_comparison", partition=None, version="v1")
    opened = open_artifact(out)
    assert isinstance(opened, SAEComparison)
    assert opened.variants.equals(read_sae_comparison_dir(out).variants)


def test_variant_rows_recomputed_with_numpy(written, saes, data):
    x = data[2].astype(np.float64)
    rows = read_sae_comparison_dir(written[0]).variants.to_pylist()
    assert [r["sae"] for r in rows] == ["default", "wide"]
    for row in rows:
        sae = saes[row["sae"]]
        with torch.no_grad():
            acts = sae.encode(torch.from_numpy(data[2])).numpy().astype(np.float64)
            x_hat = sae.decode(torch.from_numpy(acts.astype(np.float32))).numpy()
        ev = 1 - ((x - x_hat) ** 2).sum() / ((x - x.mean(0)) ** 2).sum()
        assert row["explained_variance"] == pytest.approx(ev, abs=1e-4)
        assert row["mean_l0"] == pytest.approx((acts > 0).sum(1).mean())
        assert row["dead_fraction"] == pytest.approx((~(acts > 0).any(0)).mean())
        assert (row["arch"], row["n_features"], row["k"]) == ("topk", sae.n_features, sae.k)


def test_matching_rows_are_compare_saes_rows(written, saes, data):
    pooled, samples, _ = data
    comparison = read_sae_comparison_dir(written[0])
    m = comparison.matching.to_pylist()
    assert len(m) == saes["default"].n_features
    assert [r["feature_a"] for r in m] == list(range(saes["default"].n_features))
    assert {(r["sae_a"], r["sae_b"]) for r in m} == {("default", "wide")}
    direct = compare_saes(pooled, samples, saes["default"], saes["wide"], n_examples=1000)
    by_id = {r["feature_a"]: r for r in m}
    n_rows = 0
    for category, rows in direct["examples"].items():
        for want in rows:
            got = by_id[want["a_id"]]
            assert got["category"] == category
            for key, value in want.items():
                if key != "a_id":
                    assert got[key] == pytest.approx(value), key
            n_rows += 1
    assert n_rows == len(m)
    pair = comparison.summary["pairs"][0]
    assert pair["counts"] == direct["counts"]
    assert pair["summary"]["mmcs"] == pytest.approx(direct["summary"]["mmcs"])
    assert pair["absorption"] == direct["absorption"]
    counted = {c: sum(r["category"] == c for r in m) for c in A_CATEGORIES}
    assert {c: pair["counts"][c] for c in A_CATEGORIES} == counted
    assert sum(counted.values()) == len(m)
    assert counted["one_to_one"] + counted["split"] > 0  # the planted codes are found twice
    rows = comparison.variants.to_pylist()
    assert [rows[0]["mean_absorption_rate"], rows[1]["mean_absorption_rate"]] == [
        a["mean_absorption_rate"] for a in direct["absorption"]
    ]


def test_one_sae_writes_its_row_and_no_pairs(data, saes, tmp_path):
    pooled, samples, _ = data
    inputs = {"sae": saes["wide"], "pooled": pooled, "samples": samples}  # the bench's shape
    result = sae_comparison_step(tmp_path, inputs, load_config("tiny"))
    assert result.check.passed, result.check.metadata
    c = read_sae_comparison_dir(tmp_path)
    assert c.variants.column("sae").to_pylist() == ["default"]
    assert c.variants.column("n_features").to_pylist() == [32]
    assert c.matching.num_rows == 0 and c.summary["pairs"] == []


def _with(table: pa.Table, column: str, row: int, value) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    i = table.column_names.index(column)
    return table.set_column(i, table.schema.field(i), pa.array(values, table.schema.field(i).type))


@pytest.mark.parametrize("corrupt", [
    ("matching", "feature_a", 0, 16),
    ("matching", "feature_a", 1, 0),
    ("matching", "best_b", 2, 32),
    ("matching", "children", 3, [40]),
    ("matching", "category", 0, "maybe"),
    ("variants", "explained_variance", 1, float("nan")),
    ("variants", "mean_l0", 0, float("inf")),
    ("variants", "n_features", 0, 8),
])  # fmt: skip
def test_the_check_fails_on_a_corrupted_row(written, saes, corrupt):
    part, column, row, value = corrupt
    c = read_sae_comparison_dir(written[0])
    expected = {n: saes[n].n_features for n in ("default", "wide")}
    assert check_sae_comparison(c.variants, c.matching, expected).passed
    tables = {"variants": c.variants, "matching": c.matching}
    tables[part] = _with(tables[part], column, row, value)
    outcome = check_sae_comparison(tables["variants"], tables["matching"], expected)
    assert not outcome.passed and outcome.metadata["problems"]


def test_the_check_wants_every_pair_and_variant(written, saes):
    c = read_sae_comparison_dir(written[0])
    assert not check_sae_comparison(c.variants, c.matching.slice(0, 0)).passed
    assert not check_sae_comparison(c.variants, c.matching.slice(1)).passed
    assert not check_sae_comparison(c.variants, c.matching, {"default": 16}).passed


def test_an_untrained_sae_still_compares(data, tmp_path):
    pooled, samples, _ = data
    cfg = replace(SAEConfig(arch="relu", n_features=8), input_dim=D)
    torch.manual_seed(0)
    fresh = build_sae(cfg).eval()
    other = build_sae(replace(cfg, n_features=4)).eval()
    inputs = {"sae": {"default": fresh, "b": other}, "pooled": pooled, "samples": samples}
    result = sae_comparison_step(tmp_path, inputs, load_config("tiny"))
    assert result.check.passed, result.check.metadata
    c = read_sae_comparison_dir(tmp_path)
    assert c.variants.column("k").to_pylist() == [None, None]
    assert c.matching.num_rows == 4  # b is the narrower: its 4 features matched in default
