"""Data checks behind the asset checks: each returns a CheckOutcome (passed + metadata)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from splat_core.builds.samples import SampleTable
from splat_core.builds.table import BuildTable
from splat_core.domain.vocab import Vocabularies
from splat_core.sparse import check_csc, check_nnz_conserved
from splat_core.store.integrity import DamagedError, Verifier


@dataclass
class CheckOutcome:
    passed: bool
    metadata: dict = field(default_factory=dict)

    @classmethod
    def from_problems(cls, problems: list[str], **metadata) -> CheckOutcome:
        return cls(not problems, {"problems": problems[:20], "n_problems": len(problems),
                                  **metadata})  # fmt: skip


def combine(outcomes: dict[str, CheckOutcome]) -> CheckOutcome:
    """One check over several shards (a run of a range of partitions records one result per
    check): passed when every shard passed; each shard's scalar metadata in a row of
    `shards`, and the failed shards named. A single shard's outcome is returned as is."""
    if len(outcomes) == 1:
        return next(iter(outcomes.values()))
    rows = [{"shard": key, "passed": o.passed,
             **{k: v for k, v in o.metadata.items() if isinstance(v, bool | int | float | str)}}
            for key, o in sorted(outcomes.items())]  # fmt: skip
    failed = [key for key, o in sorted(outcomes.items()) if not o.passed]
    problems = [f"[{key}] {p}" for key, o in sorted(outcomes.items())
                for p in o.metadata.get("problems", [])]  # fmt: skip
    return CheckOutcome(not failed, {"failed_shards": failed, "problems": problems[:20],
                                     "shards": rows})  # fmt: skip


class StepResult(NamedTuple):
    """What a step that runs its asset's check returns."""

    metadata: dict
    """The materialization's metadata (rows, sizes, ...)."""
    check: CheckOutcome
    """The outcome of the asset's check on what the step wrote."""


def check_vocab(vocab: Vocabularies) -> CheckOutcome:
    problems = [] if len(vocab.weapon_vocab) else ["empty weapon vocabulary"]
    return CheckOutcome.from_problems(problems, n_tokens=len(vocab.vocab))


def check_builds(table: BuildTable) -> CheckOutcome:
    problems = []
    if len(table) == 0:
        problems.append("no builds")
    if len(table.token_ids) and not (
        table.token_ids.min() >= 0 and table.token_ids.max() < len(table.vocab)
    ):
        problems.append("token id outside the vocabulary")
    if (table.token_ids == table.vocab.pad_id).any():
        problems.append("<PAD> inside a build")
    if len(table) and not (
        table.weapon.min() >= 0 and table.weapon.max() < len(table.weapon_vocab)
    ):
        problems.append("weapon index outside the weapon vocabulary")
    return CheckOutcome.from_problems(problems, rows=len(table))


def check_samples(samples: SampleTable, builds: BuildTable, per: int) -> CheckOutcome:
    """Ids are build * per + instance, contiguous; each input is a subset of its build."""
    problems = []
    ids = samples.sample_id
    if len(ids) and not np.array_equal(ids, np.arange(ids[0], ids[0] + len(ids))):
        problems.append("sample ids are not contiguous")
    if not np.array_equal(ids, samples.build_id * per + samples.instance):
        problems.append("sample id != build id * per + instance")
    full = builds.subset(samples.build_id).multi_hot()
    given = samples.inputs.multi_hot()
    null = builds.vocab.null_id
    if null is not None:
        given[:, null] = False
    if (given & ~full).any():
        problems.append(
            f"{int((given & ~full).any(axis=1).sum())} inputs hold tokens not in their build"
        )
    if not np.array_equal(samples.inputs.weapon, builds.weapon[samples.build_id]):
        problems.append("sample weapon differs from its build's weapon")
    return CheckOutcome.from_problems(problems, rows=len(samples))


def check_pooled(pooled: np.ndarray, n_rows: int) -> CheckOutcome:
    problems = []
    if pooled.shape[0] != n_rows:
        problems.append(f"{pooled.shape[0]} vectors for {n_rows} samples")
    n_bad = int((~np.isfinite(pooled)).any(axis=1).sum())
    if n_bad:
        problems.append(f"{n_bad} vectors hold NaN or inf")
    return CheckOutcome.from_problems(problems, rows=int(pooled.shape[0]))


def check_finite_weights(module) -> CheckOutcome:
    """Every parameter and buffer of a torch module is finite."""
    bad = [n for n, p in module.state_dict().items() if not p.isfinite().all()]
    return CheckOutcome.from_problems([f"{n} not finite" for n in bad])


def check_sae_quality(metrics: dict, bounds: dict) -> CheckOutcome:
    """Quality bounds: explained variance and loss recovered at least, dead fraction at most."""
    problems = []
    for key, low in (("explained_variance", bounds["min_explained_variance"]),
                     ("loss_recovered", bounds["min_loss_recovered"])):  # fmt: skip
        value = metrics.get(key)
        if value is None or not np.isfinite(value) or value < low:
            problems.append(f"{key} {value} below {low}")
    dead = metrics.get("dead_fraction")
    if dead is None or dead > bounds["max_dead_fraction"]:
        problems.append(f"dead_fraction {dead} above {bounds['max_dead_fraction']}")
    return CheckOutcome.from_problems(problems, **{k: metrics.get(k) for k in
                                                   ("explained_variance", "loss_recovered",
                                                    "dead_fraction", "mean_l0")})  # fmt: skip


def check_feature_store(csc, shards) -> CheckOutcome:
    """CSC invariants and descending order per feature, and every nonzero of the CSR
    shards (in sample order) in the store."""
    try:
        problems = check_csc(csc) + check_nnz_conserved(shards, csc)
    except DamagedError as e:  # a chunk that fails its checksum: damaged, not merely invalid
        problems = [f"damaged: {e}"]
    return CheckOutcome.from_problems(problems, nnz=int(csc.nnz))


def check_intact(directory) -> CheckOutcome:
    """Every file of a published version against its manifest (all bytes hashed)."""
    verifier = Verifier(directory)
    problems = verifier.verify_all()
    if not verifier.checked:
        return CheckOutcome(True, {"note": "published before checksums: nothing to check"})
    return CheckOutcome.from_problems(problems, files=len(verifier.manifest["files"]))
