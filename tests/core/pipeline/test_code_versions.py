"""Code versions derived from what each step reaches: a change to a function one step calls
changes that step's version and no other's."""

from __future__ import annotations

import importlib
import sys

import pytest

from splat_core.pipeline import analysis_steps, steps
from splat_core.pipeline.code_versions import asset_code_version, code_version, reached
from splat_core.store.contract import ASSET_NAMES


def test_every_asset_has_a_distinct_code_version():
    versions = {name: asset_code_version(name) for name in ASSET_NAMES}
    assert all(v and len(v) == 16 for v in versions.values())
    assert len(set(versions.values())) == len(versions)


SAE, SYNTH = "splat_core.sae.train.train_sae", "splat_core.builds.synth.generate_builds"
CASES = [
    (steps.sae_step, SAE, SYNTH),
    (steps.builds_step, SYNTH, SAE),
    (steps.feature_store_step, "splat_core.sparse.transpose.build_csc",
     "splat_core.model.train.train_model"),
    (analysis_steps.feature_neighbors_step, "splat_core.analysis.neighbors.coactivation_neighbors",
     "splat_core.analysis.stats.feature_stats"),
    (analysis_steps.feature_stats_step, "splat_core.analysis.stats.feature_stats",
     "splat_core.analysis.neighbors.coactivation_neighbors"),
]  # fmt: skip


@pytest.mark.parametrize(("step", "reaches", "not_reaches"), CASES)
def test_a_step_reaches_the_code_it_runs_and_not_the_others(step, reaches, not_reaches):
    names = reached(step)
    assert reaches in names and not_reaches not in names


def _package(root, helper_body: str):
    """A package `cvpkg` with a step calling a helper through a module attribute, a
    constant, and a class; imported afresh."""
    pkg = root / "cvpkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helpers.py").write_text(
        "LIMIT = 3\n\n"
        f"def helper(x):\n    {helper_body}\n\n"
        "class Box:\n    def size(self):\n        return LIMIT\n"
    )
    (pkg / "other.py").write_text("def unrelated():\n    return 1\n")
    (pkg / "step.py").write_text(
        "from cvpkg import helpers\nfrom cvpkg.helpers import Box\n\n"
        "def step(x):\n    return helpers.helper(x) + Box().size()\n"
    )
    for name in [m for m in sys.modules if m.startswith("cvpkg")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    return importlib.import_module("cvpkg.step").step


def test_the_version_follows_the_code_through_attributes_classes_and_constants(
    tmp_path, monkeypatch
):
    monkeypatch.syspath_prepend(str(tmp_path))
    first = _package(tmp_path, "return x + 1")
    assert set(reached(first, "cvpkg")) == {
        "cvpkg.step.step", "cvpkg.helpers.helper", "cvpkg.helpers.Box"}  # fmt: skip
    v1 = code_version(first, "cvpkg")
    assert code_version(_package(tmp_path, "return x + 1"), "cvpkg") == v1  # same code
    assert code_version(_package(tmp_path, '"""Doc."""\n    return x + 1  # a comment'),
                        "cvpkg") == v1  # words about the code are not the code  # fmt: skip
    assert code_version(_package(tmp_path, "return x + 2"), "cvpkg") != v1  # the helper changed
    (tmp_path / "cvpkg" / "other.py").write_text("def unrelated():\n    return 2\n")
    assert code_version(_package(tmp_path, "return x + 1"), "cvpkg") == v1  # not reached
