"""The analysis group: per-feature tables computed from the feature store (CSC), sample
metadata and the model/SAE weights. Every table is long form (first column `feature_id`,
sorted by feature then rank) and every computation streams features in bounded blocks.
`feature_map` (one row per feature) is imported from its module: the name is the module's."""

from splat_core.analysis.correlations import feature_correlations
from splat_core.analysis.influence import (
    feature_influence,
    influence_matrix,
    read_influence_zarr,
    write_influence_zarr,
)
from splat_core.analysis.neighbors import feature_neighbors
from splat_core.analysis.stats import feature_histograms, feature_stats
from splat_core.analysis.tokens import feature_tokens, token_idf
from splat_core.analysis.weapons import feature_weapons
from splat_core.builds.sample_meta import SampleMeta

__all__ = [
    "SampleMeta",
    "feature_correlations",
    "feature_histograms",
    "feature_influence",
    "feature_neighbors",
    "feature_stats",
    "feature_tokens",
    "feature_weapons",
    "influence_matrix",
    "read_influence_zarr",
    "token_idf",
    "write_influence_zarr",
]
