"""The explorer's views, in tab order: each renders one aspect of the selected feature."""

from splat_ui.views import (
    examples,
    features,
    influence,
    intervals,
    neighbors,
    overview,
    steer,
    sweeps,
    tokens,
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
    "All features": features.render,
}
