"""The main job through the command line: materialize, info, synth, reference import."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from splat_cli.main import main
from splat_core.builds.synth import SynthConfig, generate_builds
from splat_core.builds.table import read_builds_parquet
from splat_core.domain.vocab import Vocab, WeaponVocab
from splat_core.model import load_model
from splat_core.store.catalog import current_path, read_catalog
from splat_core.store.contract import ANALYSIS_ASSETS

FAST = ["--profile", "tiny", "--set", "synth.n_builds=600", "--set", "train.epochs=1"]


@pytest.fixture(scope="module")
def job_home(tmp_path_factory):
    job_home = tmp_path_factory.mktemp("job_home")
    assert main(["materialize", "--home", str(job_home), *FAST]) == 0
    return job_home


def test_materialize_writes_the_assets_and_reports_metrics(job_home, capsys):
    catalog = _info(job_home, capsys)
    assert set(catalog) == {"vocab", "builds", "base_model", "samples", "pooled", "sae",
                            "activations", "feature_store", *ANALYSIS_ASSETS}  # fmt: skip
    assert catalog["builds"]["metadata"]["rows"] == 600
    meta = catalog["base_model"]["metadata"]
    metrics = json.loads((current_path(job_home, "base_model") / "metrics.json").read_text())
    assert meta["test"] == metrics["test"]
    assert meta["baseline_weapon_frequency"] == metrics["baseline_weapon_frequency"]


def test_a_second_materialize_with_nothing_changed_recomputes_nothing(job_home, capsys):
    before = read_catalog(job_home)
    capsys.readouterr()
    assert main(["materialize", "--home", str(job_home), *FAST]) == 0
    assert "is up to date (--force recomputes)" in capsys.readouterr().out
    assert read_catalog(job_home) == before  # not one version published
    assert main(["info", "--home", str(job_home), *FAST]) == 0
    printed = capsys.readouterr().out
    assert "STALE" not in printed and printed.count("up to date") >= len(before)
    # another setting of one step: its asset and what reads it are stale, nothing else
    assert main(["info", "--home", str(job_home), "--json", *FAST, "--set", "sae.seed=5"]) == 0
    catalog = json.loads(capsys.readouterr().out)
    stale = {a for a, e in catalog.items() if e.get("stale")}
    stale |= {a for a, e in catalog.items() for p in e.get("partitions", {}).values()
              if p.get("stale")}  # fmt: skip
    assert stale == {"sae", "activations", "feature_store", *ANALYSIS_ASSETS} - {"token_idf"}


def test_materialized_builds_equal_the_generator(job_home):
    vocab_dir = current_path(job_home, "vocab")
    vocab = Vocab.from_json(vocab_dir / "vocab.json")
    weapons = WeaponVocab.from_json(vocab_dir / "weapon_vocab.json")
    table = read_builds_parquet(current_path(job_home, "builds") / "builds.parquet", vocab, weapons)
    expected = generate_builds(SynthConfig(n_builds=600))
    assert np.array_equal(table.token_ids, expected.token_ids)
    assert np.array_equal(table.offsets, expected.offsets)
    assert np.array_equal(table.weapon, expected.weapon)
    assert [table.archetype_names[a] for a in table.archetype] == [
        expected.archetype_names[a] for a in expected.archetype
    ]
    assert len(pq.read_table(vocab_dir / "weapons.parquet")) == 130


def test_materialized_model_loads_and_runs(job_home):
    model = load_model(current_path(job_home, "base_model"))
    with torch.no_grad():
        logits = model(torch.tensor([[0, 12, 139]]), torch.tensor([[5]]))
    assert logits.shape == (1, 140) and torch.isfinite(logits).all()


def test_synth_then_reference_import(tmp_path, capsys):
    out = tmp_path / "synth"
    assert main(["data", "synth", "--out", str(out), "--profile", "tiny", "--n-builds", "300"]) == 0
    truth = pq.read_table(out / "archetypes.parquet")
    assert truth.num_rows == 300
    job_home = tmp_path / "job_home"
    ref = [
        "--set", "data.source=reference",
        "--set", f"data.data={out / 'tokenized_data.csv'}",
        "--set", f"data.vocab={out / 'vocab.json'}",
        "--set", f"data.weapon_vocab={out / 'weapon_vocab.json'}",
    ]  # fmt: skip
    assert main(["materialize", "--home", str(job_home), *FAST, *ref]) == 0
    catalog = _info(job_home, capsys)
    assert catalog["builds"]["metadata"]["rows"] == 300
    assert catalog["builds"]["metadata"]["source"] == "reference"


def test_bad_reference_data_fails_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "synth"
    main(["data", "synth", "--out", str(out), "--profile", "tiny", "--n-builds", "50"])
    lines = (out / "tokenized_data.csv").read_text().splitlines()
    lines[3] = "[0,1]\t0"  # two head main-only abilities
    (out / "tokenized_data.csv").write_text("\n".join(lines) + "\n")
    job_home = tmp_path / "job_home"
    ref = [
        "--set", "data.source=reference",
        "--set", f"data.data={out / 'tokenized_data.csv'}",
        "--set", f"data.vocab={out / 'vocab.json'}",
        "--set", f"data.weapon_vocab={out / 'weapon_vocab.json'}",
    ]  # fmt: skip
    assert main(["materialize", "--home", str(job_home), *FAST, *ref]) == 2
    err = capsys.readouterr().err
    assert "tokenized_data.csv:4:" in err and "head" in err
    assert read_catalog(job_home) == {}  # checked before anything ran: nothing was published


def test_config_errors_are_clear(capsys):
    assert main(["materialize", "--profile", "huge"]) == 2
    assert "unknown profile 'huge'" in capsys.readouterr().err
    assert main(["materialize", "--set", "train.epochz=1"]) == 2
    assert "unknown setting train.epochz" in capsys.readouterr().err
    assert main(["materialize", "--set", "train.epochs=many"]) == 2
    assert "train.epochs must be int" in capsys.readouterr().err


def test_info_on_an_empty_home(tmp_path, capsys):
    assert main(["info", "--home", str(tmp_path / "none")]) == 0
    assert "nothing materialized" in capsys.readouterr().out


def _info(job_home, capsys) -> dict:
    capsys.readouterr()
    assert main(["info", "--home", str(job_home), "--json"]) == 0
    return json.loads(capsys.readouterr().out)
