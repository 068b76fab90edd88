"""Lineage: what each published version was computed from.

Every version records, in its MANIFEST.json and its CURRENT.json pointer, the exact version
and content fingerprint of each input (the contract's deps: the same shard of a
partitioned input for a partitioned asset, every shard for an aggregate), the fingerprint
of its config sections and the code version of its step (pipeline/code_versions.py). With
one writer per home (lock.py) the inputs' current versions when an asset is published are
the ones its step read.

Consistency is by content fingerprint: a version is consistent when every input it records
is current with the same fingerprint. An identical rerun of an input therefore keeps its
dependents consistent; any change makes them stale, and steps refuse stale inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, is_dataclass

from splat_core.store.contract import SPECS, split_stored, stored_name

# The config sections each asset's step reads (a changed section makes the asset stale).
CONFIG_SECTIONS = {
    "vocab": ("data",),
    "builds": ("data", "synth"),
    "base_model": ("model", "train"),
    "samples": ("samples",),
    "pooled": ("samples",),
    "sae": ("sae", "sae_source", "sae_eval", "train"),
    "activations": ("samples",),
    "feature_store": ("store",),
    "feature_map": ("feature_map",),
    "feature_explanations": ("explain",),  # its step reads only the explain section
    "sae_comparison": ("analysis", "train", "sae_eval"),  # loss recovered: held-out builds
}
ANALYSIS_SECTIONS = ("analysis",)  # the other analysis assets


class StaleInputError(RuntimeError):
    """A step was given an input computed from other versions than the current ones."""


def key_of(asset: str, partition: str | None) -> str:
    return asset if partition is None else f"{asset}/{partition}"


def input_keys(asset: str, partition: str | None, catalog: dict) -> list[str]:
    """The catalog keys an asset (partition) is computed from, per the contract. `asset` is
    a stored name: a per-SAE asset of a variant reads that variant's per-SAE inputs, and an
    asset that reads a per-SAE asset without being one reads every variant of it."""
    base, sae = split_stored(asset)
    spec = SPECS.get(base)
    if spec is None:
        return []
    keys = []
    for dep in spec.deps:
        for name in _dep_names(dep, sae if spec.per_sae else None, catalog):
            if not SPECS[dep].partitioned:
                keys.append(name)
            elif partition is not None and spec.partitioned:
                keys.append(f"{name}/{partition}")
            else:
                keys += [f"{name}/{p}" for p in sorted(catalog.get(name, {}).get("partitions", {}))]
    return keys


def _dep_names(dep: str, sae: str | None, catalog: dict) -> list[str]:
    """The stored names of input `dep`: its own; the variant's (a per-SAE reader); every
    variant's in the catalog (a reader of all SAEs)."""
    if not SPECS[dep].per_sae:
        return [dep]
    if sae is not None:
        return [stored_name(dep, sae)]
    return sorted(n for n in catalog if split_stored(n)[0] == dep)


def entries(catalog: dict) -> dict[str, dict]:
    """{key: entry} of a read_catalog() result (partitions as 'asset/partition')."""
    out = {}
    for asset, entry in catalog.items():
        for part, e in entry.get("partitions", {}).items():
            out[f"{asset}/{part}"] = e
        if "version" in entry:
            out[asset] = entry
    return out


def record(
    asset: str, partition: str | None, catalog: dict, config=None, keys: list[str] | None = None,
    code: str | None = None,
) -> dict:  # fmt: skip
    """The lineage of a version about to be published: its inputs' current versions and
    fingerprints (the contract's inputs, unless `keys` names others: a synthesized asset),
    the fingerprint of its config sections and `code`, its step's code version (None: not
    published by a step)."""
    current = entries(catalog)
    inputs = {}
    for key in input_keys(asset, partition, catalog) if keys is None else keys:
        if key not in current:
            where = key_of(asset, partition)
            raise StaleInputError(f"{where}: its input {key} is not materialized")
        inputs[key] = {"version": current[key]["version"],
                       "fingerprint": current[key].get("fingerprint")}  # fmt: skip
    return {"inputs": inputs, "config": config_fingerprint(asset, config),
            "code": code}  # fmt: skip


def config_fingerprint(asset: str, config) -> str | None:
    """16 hex digits over the config sections the asset's step reads (None: not known)."""
    if config is None:
        return None
    asset = split_stored(asset)[0]
    spec = SPECS.get(asset)
    sections = CONFIG_SECTIONS.get(asset) or (
        ANALYSIS_SECTIONS if spec and spec.group == "analysis" else ()
    )
    values = {s: asdict(getattr(config, s)) if is_dataclass(config) else config[s]
              for s in sections}  # fmt: skip
    blob = json.dumps(_with_file_stamps(values), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _with_file_stamps(value):
    """Settings with every path to an existing file stamped with its size and mtime: an
    outside source (a reference CSV, a checkpoint) edited in place makes its readers stale."""
    if isinstance(value, dict):
        return {k: _with_file_stamps(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_with_file_stamps(v) for v in value]
    if isinstance(value, str) and value and os.path.isfile(value):
        st = os.stat(value)
        return {"path": value, "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
    return value


def stale_inputs(entry: dict, current: dict[str, dict]) -> list[str]:
    """Why a catalog entry is not consistent with the current entries ([] if it is). An
    entry without lineage (published before lineage existed) is never consistent."""
    if "inputs" not in entry:
        return ["published without lineage"]
    problems = []
    for key, was in entry["inputs"].items():
        now = current.get(key)
        if now is None:
            problems.append(f"{key} is no longer materialized")
        elif now.get("fingerprint") != was.get("fingerprint") or was.get("fingerprint") is None:
            problems.append(f"{key} changed since (was version {was['version']}, now "
                            f"{now['version']})")  # fmt: skip
    return problems


def check_current(key: str, catalog: dict) -> None:
    """StaleInputError unless `key`'s current version is consistent with its inputs' current
    versions: a step must not combine versions that were not computed from each other."""
    current = entries(catalog)
    problems = stale_inputs(current[key], current)
    if problems and problems != ["published without lineage"]:
        raise StaleInputError(
            f"{key} is stale: {'; '.join(problems[:3])}. Materialize it again first"
        )
