"""Cached access to the materialized home, shared by every session of the explorer.

One `LiveReader` per SPLAT_HOME (a live snapshot per SAE variant) and one `LabelStore` per
home and variant (`st.cache_resource`); computed views (`st.cache_data`) are keyed by the
reader's variant and `data_version` (`key`), so a new materialization is picked up within a
second and never mixed with an older one, nor one variant's answers with another's.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from splat_core import investigate
from splat_core.domain import present
from splat_core.investigate import examples, explorer, sae_compare
from splat_core.labels import LabelStore
from splat_core.query import LiveReader, Reader, sql
from splat_core.query.examples import Example
from splat_core.query.summary import feature_index
from splat_core.store import homes
from splat_core.store.contract import DEFAULT_SAE
from splat_core.store.homes import splat_home


def home() -> Path | str:
    return homes.resolve(splat_home())


@st.cache_resource(show_spinner=False, max_entries=4)
def _live(home: str) -> LiveReader:
    return LiveReader(home)


@st.cache_resource(show_spinner=False, max_entries=16)
def _labels(home: str, sae: str) -> LabelStore:
    return LabelStore.open(home, sae)


def reader(sae: str = DEFAULT_SAE) -> Reader:
    """The newest consistent snapshot of the home, of SAE variant `sae` (UnknownSAEError
    unless the served generation holds it)."""
    return _live(str(home())).get(sae)


def labels(sae: str = DEFAULT_SAE) -> LabelStore:
    """The label store of SAE variant `sae` (feature ids are each SAE's own)."""
    return _labels(str(home()), sae)


@st.cache_data(show_spinner=False, max_entries=8)
def features_frame(_reader: Reader, home: str, version: str) -> pd.DataFrame:
    """Every feature's nnz, density, max and top token (labels are joined by the caller)."""
    return pd.DataFrame(feature_index(_reader)).set_index("feature_id")


@st.cache_data(show_spinner=False, max_entries=256)
def quantile_examples(
    _reader: Reader, home: str, version: str, f: int, n_bins: int, per_bin: int, seed: int
) -> list[dict]:
    return explorer.interval_groups(_reader.quantile_examples(f, n_bins, per_bin, seed))


@st.cache_data(show_spinner=False, max_entries=256)
def top_examples(_reader: Reader, home: str, version: str, f: int, k: int) -> list[dict]:
    return [present.example_row(e) for e in _reader.top_examples(f, k)]


@st.cache_data(show_spinner=False, max_entries=256)
def family_sweep(_reader: Reader, home: str, version: str, f: int, family: str, pop: str):
    return investigate.family_sweep(_reader, f, family, pop)


@st.cache_data(show_spinner=False, max_entries=256)
def heatmap(_reader: Reader, home: str, version: str, f: int, x: str, y: str, pop: str):
    return investigate.heatmap(_reader, f, x, y, population_=pop)


@st.cache_data(show_spinner=False, max_entries=256)
def encode(_reader: Reader, home: str, version: str, f: int, weapon: int, build: tuple) -> dict:
    """The model and the SAE on a build (ability -> AP pairs): feature f's activation, the
    predictions, the most active features."""
    e = _reader.encode(weapon, dict(build))
    return _encoding(e.probabilities, e.activations, f)


@st.cache_data(show_spinner=False, max_entries=256)
def encode_tokens(_reader: Reader, home: str, version: str, f: int, weapon: int, tokens: tuple):
    """As `encode`, on exactly these input tokens (a stored partial build)."""
    return _encoding(*explorer.encode_tokens(_reader, weapon, tokens), f)


def _encoding(probabilities: dict, activations, f: int) -> dict:
    return {
        "activation": float(activations[f]),
        "probabilities": probabilities,
        "features": explorer.top_features(activations, 12),
    }


@st.cache_data(show_spinner=False, max_entries=256)
def single_edits(_reader: Reader, home: str, version: str, f: int, weapon: int, build: tuple):
    """Every legal single edit of the build, by the size of feature f's change."""
    return [v.to_dict() for v in _reader.whatif(weapon, dict(build), f, top_changes=3).variants]


@st.cache_data(show_spinner=False, max_entries=64)
def explanation_examples(_reader: Reader, home: str, version: str, f: int, k: int) -> dict:
    """Feature f's ranked rules, and the best one's misses and hard negatives as rows."""
    return explorer.explanation_examples(_reader, f, k)


@st.cache_data(show_spinner=False, max_entries=256)
def search_positives(_reader: Reader, home: str, version: str, f: int) -> tuple[int, int]:
    return explorer.search_positives(_reader, f)


def features_where(reader: Reader, where: str) -> list[int]:
    """Feature ids whose stats and label satisfy a SQL condition (query/sql.py); not cached:
    the labels view is read when the connection opens, and labels change in the explorer."""
    with sql.connect(reader) as con:
        return sql.features_where(con, where)


def key(reader: Reader) -> tuple[str, str]:
    """(home, variant@data_version): the cache key of everything read from this snapshot."""
    return str(reader.home), f"{reader.sae}@{reader.data_version}"


@st.cache_data(show_spinner=False, max_entries=256)
def steer(_reader: Reader, home: str, version: str, weapon: int, tokens: tuple, edits: tuple):
    """`investigate.steer_tokens` on a stored build; edits as (feature, op, value)."""
    edits = [investigate.FeatureEdit(*e) for e in edits]
    return investigate.steer_tokens(_reader, weapon, list(tokens), edits)


def _group_row(e, **extra) -> dict:
    return {**present.example_row(e), **extra}


@st.cache_data(show_spinner=False, max_entries=256)
def top_groups(_reader: Reader, home: str, version: str, f: int, k: int) -> list[dict]:
    """The top k distinct inputs as example rows (the first of each), with their count."""
    return [
        _group_row(Example(g.rank, g.sample_ids[0], g.max_activation, g.weapon, g.tokens,
                           g.build_id), count=g.count)
        for g in examples.grouped_examples(_reader, f, k)
    ]  # fmt: skip


@st.cache_data(show_spinner=False, max_entries=256)
def containing_builds(_reader: Reader, home: str, version: str, sample_id: int) -> dict:
    return examples.containing_builds(_reader, sample_id, limit=20).to_dict()


@st.cache_data(show_spinner=False, max_entries=64)
def negatives(_reader: Reader, home: str, version: str, f: int, k: int, seed: int) -> dict:
    """Random and hard negatives as example rows (rank 0, activation 0), and the top tokens."""
    out = examples.non_activating(_reader, f, k, seed)
    rows = lambda ns: [  # noqa: E731
        _group_row(Example(0, n.sample_id, 0.0, n.weapon, n.tokens, n.build_id), shared=n.shared)
        for n in ns
    ]
    return {"top_tokens": out.top_tokens, "random": rows(out.random), "hard": rows(out.hard)}


@st.cache_data(show_spinner=False, max_entries=64)
def compare(_reader: Reader, home: str, version: str, f: int, g: int, max_points: int) -> dict:
    return investigate.compare_features(_reader, f, g, max_points)


@st.cache_data(show_spinner=False, max_entries=256)
def logit_histogram(_reader: Reader, home: str, version: str, f: int, bins: int) -> dict:
    return investigate.logit_histogram(_reader, f, bins)


@st.cache_data(show_spinner=False, max_entries=8)
def map_points(_reader: Reader, home: str, version: str, labels: tuple) -> dict:
    """The feature map's points; labels as sorted (feature_id, name) pairs (the cache key)."""
    return investigate.map_points(_reader, "label", dict(labels))


@st.cache_data(show_spinner=False, max_entries=64)
def sae_category_rows(
    _readers: dict, home: str, versions: tuple, sae_a: str, sae_b: str, category: str, limit: int
) -> list[dict]:
    """Pair (a, b)'s features of one category with both sides' top tokens; `versions` is
    every reader's `key` (the cache key)."""
    comparison = _readers[sae_a].sae_comparison()
    return sae_compare.category_rows(comparison, sae_a, sae_b, category, _readers, limit)
