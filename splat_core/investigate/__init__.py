"""Investigating one SAE feature: overview, sweeps, token effects, decoder analysis,
interventions and steering. Pure functions over a `splat_core.query.Reader` returning
JSON-ready dicts; the command line (`splat overview|sweep|tokens|decoder|whatif|steer`) and
the MCP server are thin wrappers over them. See docs/investigating.md for the workflow."""

from splat_core.investigate.compare import compare_features, logit_histogram, map_points
from splat_core.investigate.decoder import decoder_analysis
from splat_core.investigate.interactions import interaction, interaction3, minimal_sets
from splat_core.investigate.interference import interference
from splat_core.investigate.interventions import (
    Edit,
    parse_edits,
    whatif_build,
    whatif_examples,
)
from splat_core.investigate.itemsets import contrastive_itemsets
from splat_core.investigate.names import UnknownNameError
from splat_core.investigate.overview import overview
from splat_core.investigate.regions import coverage, kits, regions
from splat_core.investigate.rule_validation import validate_rule
from splat_core.investigate.steering import (
    FeatureEdit,
    steer,
    steer_examples,
    steer_tokens,
)
from splat_core.investigate.sweeps import (
    binary_sweep,
    family_sweep,
    heatmap,
    kit_sweep,
    weapon_sweep,
)
from splat_core.investigate.token_validation import validate_token_effects
from splat_core.investigate.tokens import token_effects
from splat_core.investigate.validation import validate_sweep

__all__ = [
    "Edit",
    "FeatureEdit",
    "UnknownNameError",
    "binary_sweep",
    "compare_features",
    "contrastive_itemsets",
    "coverage",
    "decoder_analysis",
    "family_sweep",
    "heatmap",
    "interaction",
    "interaction3",
    "interference",
    "kit_sweep",
    "kits",
    "logit_histogram",
    "map_points",
    "minimal_sets",
    "overview",
    "parse_edits",
    "regions",
    "steer",
    "steer_examples",
    "steer_tokens",
    "token_effects",
    "validate_rule",
    "validate_sweep",
    "validate_token_effects",
    "weapon_sweep",
    "whatif_build",
    "whatif_examples",
]
