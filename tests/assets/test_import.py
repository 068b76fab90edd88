"""The import path: a reference model, SAE and tokenized_data.csv through the same graph."""

from __future__ import annotations

import json

import dagster as dg
import numpy as np
import torch

from splat_assets import definitions
from splat_assets.resources import SplatSettings
from splat_assets.runner import materialize_graph
from splat_core.builds.reference import write_reference_dataset
from splat_core.builds.synth import SynthConfig, generate_builds
from splat_core.builds.table import BuildTable
from splat_core.domain.vocab import Vocab, WeaponVocab
from splat_core.sae import load_sae
from splat_core.store import catalog
from splat_core.store.artifacts import open_artifact, read_builds_dir
from tests.helpers import FIXTURE


def _fixture_data(out, n=240):
    """Synthetic builds restricted to the fixture's 26 weapons, in its weapon index order."""
    weapons = WeaponVocab.from_json(FIXTURE / "weapon_vocab.json")
    table = generate_builds(SynthConfig(n_builds=3000, seed=5))
    ref_ids = np.asarray(table.weapon_vocab.weapon_ids)[table.weapon]
    keep = np.flatnonzero(np.isin(ref_ids, weapons.weapon_ids))[:n]
    sub = table.subset(keep)
    remap = {w: i for i, w in enumerate(weapons.weapon_ids)}
    dense = np.array([remap[w] for w in np.asarray(table.weapon_vocab.weapon_ids)[sub.weapon]])
    ref = BuildTable(dense, sub.offsets, sub.token_ids, Vocab.from_json(FIXTURE / "vocab.json"),
                     weapons)  # fmt: skip
    return write_reference_dataset(out, ref), ref


def test_reference_model_sae_and_data_materialize_the_graph(tmp_path):
    paths, ref = _fixture_data(tmp_path / "data")
    overrides = [
        "data.source=reference", f"data.data={paths['data']}", f"data.vocab={paths['vocab']}",
        f"data.weapon_vocab={paths['weapon_vocab']}",
        "model.source=reference", f"model.path={FIXTURE}",
        "sae_source.source=reference", f"sae_source.path={FIXTURE}",
        # The fixture's weights are random: only the import path is under test here.
        "sae_eval.min_explained_variance=-1e9", "sae_eval.min_loss_recovered=-1e9",
        "sae_eval.max_dead_fraction=1.0",
    ]  # fmt: skip
    home = tmp_path / "home"
    settings = SplatSettings(home=str(home), profile="tiny", overrides=overrides)
    materialize_graph(definitions.build_definitions(settings), dg.DagsterInstance.ephemeral(),
                      progress=lambda _m: None)  # fmt: skip

    builds = read_builds_dir(catalog.current_path(home, "builds"))
    assert np.array_equal(builds.token_ids, ref.token_ids)
    assert len(builds.weapon_vocab) == 26

    # The imported model and SAE are the fixture's: they reproduce its expected outputs.
    expected = np.load(FIXTURE / "expected.npz")
    model = open_artifact(catalog.current_path(home, "base_model"))
    with torch.no_grad():
        logits = model(torch.from_numpy(expected["tokens"]), torch.from_numpy(expected["weapons"]))
    np.testing.assert_allclose(logits.numpy(), expected["logits"], atol=1e-5)
    sae = open_artifact(catalog.current_path(home, "sae"))
    with torch.no_grad():
        acts = sae.encode(torch.from_numpy(expected["pooled"]))
    np.testing.assert_allclose(acts.numpy(), expected["sae_h_post"], atol=1e-5)

    # Activations are the fixture SAE applied to the fixture model's pooled vectors.
    reference_sae = load_sae(FIXTURE)
    csc = open_artifact(catalog.current_path(home, "feature_store"))
    assert csc.n_features == 256
    pooled = open_artifact(catalog.current_path(home, "pooled", "000"))
    shard = open_artifact(catalog.current_path(home, "activations", "000"))
    with torch.no_grad():
        dense = reference_sae.encode(torch.from_numpy(pooled[:])).numpy()
    np.testing.assert_allclose(shard.row_slice(0, shard.shape[0]).toarray(), dense, atol=1e-6)
    meta = json.loads((catalog.asset_root(home, "sae") / "CURRENT.json").read_text())["metadata"]
    assert meta["source"] == "reference"
