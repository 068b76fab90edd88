"""`splat export sae --format saelens DIR` on the hand-made investigation home: it writes the
served SAE as a SAELens directory (what export_saelens writes, checked in
tests/core/sae/test_saelens.py) that imports back to the same encode, and refuses what it
should with exit 2."""

from __future__ import annotations

import json

import pytest
import torch

from splat_core.query import Reader
from splat_core.sae.saelens import CONFIG, WEIGHTS, export_saelens, import_saelens
from splat_core.store.artifacts import open_artifact
from tests.helpers import json_roundtrip, run_splat


def test_export_writes_the_served_sae(capsys, investigation_home, tmp_path):
    home = investigation_home[0]
    code, out, err = run_splat(capsys, home, "export", "sae", "--format", "saelens", tmp_path / "o")
    assert code == 0, err
    assert "SAELens topk SAE from splat topk" in out and "load_from_disk" in out
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == sorted([CONFIG, WEIGHTS])
    with Reader.open(home) as reader:
        sae, version = open_artifact(reader.path("sae")), reader.versions["sae"]
        generation = reader.generation
    cfg = json.loads((tmp_path / "o" / CONFIG).read_text())
    assert cfg["metadata"]["splat"]["sae_version"] == version
    assert cfg["metadata"]["splat"]["generation"] == generation
    x = torch.randn(50, sae.input_dim, generator=torch.Generator().manual_seed(0))
    back = import_saelens(tmp_path / "o")
    with torch.no_grad():
        torch.testing.assert_close(back.encode(x), sae.encode(x), rtol=1e-6, atol=1e-6)
        assert (sae.encode(x) > 0).any()
    # --json prints export_saelens' result
    argv = ("export", "sae", "--format", "saelens", tmp_path / "j", "--json")
    code, out, err = run_splat(capsys, home, *argv)
    assert code == 0, err
    provenance = {"sae_version": version, "generation": generation}
    assert json.loads(out) == json_roundtrip(export_saelens(sae, tmp_path / "j", provenance))


def test_export_errors_exit_2(capsys, investigation_home, tmp_path):
    home = investigation_home[0]
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("x")
    export = ("export", "sae", "--format", "saelens")
    code, _, err = run_splat(capsys, home, *export, tmp_path / "busy")
    assert code == 2 and "keep.txt" in err
    empty = tmp_path / "empty_home"
    empty.mkdir()
    code, _, err = run_splat(capsys, empty, *export, tmp_path / "n")
    assert code == 2 and "not materialized" in err
    for argv in (("--format", "npz"), ()):  # only saelens, and --format is required
        with pytest.raises(SystemExit) as exit_:
            run_splat(capsys, home, "export", "sae", *argv, tmp_path / "x")
        assert exit_.value.code == 2
