"""The explorer's views, in tab order: each renders one aspect of the selected feature."""

from splat_ui.views import (
    causal,
    compare,
    examples,
    feature_map,
    features,
    influence,
    intervals,
    neighbors,
    overview,
    sae_compare,
    steer,
    sweeps,
    tokens,
    validation,
    whatif,
)

VIEWS = {
    "Overview": overview.render,
    "Top examples": examples.render,
    "Intervals": intervals.render,
    "Tokens": tokens.render,
    "Influence": influence.render,
    "Neighbours": neighbors.render,  # the label is in shared links (?view=Neighbours)
    "Sweeps": sweeps.render,
    "What-if": whatif.render,
    "Steer": steer.render,
    "Compare": compare.render,
    "Map": feature_map.render,
    "Interactions": causal.render,
    "Validate": validation.render,
    "All features": features.render,
    "SAEs": sae_compare.render,
}
