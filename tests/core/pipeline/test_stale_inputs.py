"""Steps refuse inputs that were not computed from each other: activation shards of another
SAE, and (through lineage) any input whose own inputs changed since it was computed."""

from __future__ import annotations

import numpy as np
import pytest

from splat_core.pipeline import steps
from splat_core.pipeline.config import load_config
from splat_core.sae import TopKSAE, encode_csr, fingerprint
from splat_core.sparse import open_csc
from splat_core.store import artifacts, lineage
from tests.helpers import gen


def _shards(tmp_path, sae, rows=(40, 25)):
    """Activation shards of `sae` over random pooled vectors, as activations_step writes them."""
    shards, start, rng = {}, 0, np.random.default_rng(0)
    for k, n in enumerate(rows):
        x = rng.normal(size=(n, sae.input_dim)).astype(np.float32)
        d = tmp_path / f"act{k}"
        artifacts.write_activations_dir(d, encode_csr(sae, x, 16), sae.n_features, start,
                                        attrs={"sae_fingerprint": fingerprint(sae)})  # fmt: skip
        shards[f"{k:03d}"] = artifacts.open_artifact(d)
        start += n
    return shards


def test_the_feature_store_refuses_shards_of_another_sae(tmp_path):
    config = load_config("tiny")
    sae, other = TopKSAE(8, 32, 4, gen(1)), TopKSAE(8, 32, 4, gen(2))
    shards = _shards(tmp_path, sae)
    shards["001"] = _shards(tmp_path / "other", other)["001"]
    with pytest.raises(lineage.StaleInputError, match=r"shards \['001'\] were computed with "
                       f"another SAE than the current one \\({fingerprint(sae)}\\)"):  # fmt: skip
        steps.feature_store_step(tmp_path / "store", shards, sae, config)
    assert not (tmp_path / "store").exists()
    # the same shards with their own SAE: the store holds exactly their nonzeros
    shards = _shards(tmp_path / "own", sae)
    steps.feature_store_step(tmp_path / "store", shards, sae, config)
    csc = open_csc(tmp_path / "store" / "csc.zarr")
    assert csc.nnz == sum(s.nnz for s in shards.values())


def test_a_step_refuses_an_input_computed_from_other_versions():
    def entry(version, fp, inputs=None):
        return {"version": version, "fingerprint": fp, "inputs": inputs or {}}

    catalog = {
        "vocab": entry("v2", "f-vocab-2"),  # the vocabulary changed after builds were made
        "builds": entry("b1", "f-builds", {"vocab": {"version": "v1", "fingerprint": "f-vocab-1"}}),
        "base_model": entry("m1", "f-model", {"builds": {"version": "b1",
                                                         "fingerprint": "f-builds"}}),
    }  # fmt: skip
    with pytest.raises(
        lineage.StaleInputError,
        match=r"builds is stale: vocab changed since \(was version v1, now v2\)",
    ):
        lineage.check_current("builds", catalog)
    lineage.check_current("base_model", catalog)  # computed from the current builds: fine
    catalog["builds"]["inputs"]["vocab"] = {"version": "v2", "fingerprint": "f-vocab-2"}
    lineage.check_current("builds", catalog)
