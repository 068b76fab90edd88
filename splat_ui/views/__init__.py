"""The explorer's views, in tab order: each renders one aspect of the selected feature."""

from splat_ui.views import (
    examples,
    features,
    influence,
    intervals,
    neighbours,
    overview,
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
    "Neighbours": neighbours.render,
    "Sweeps": sweeps.render,
    "What-if": whatif.render,
    "All features": features.render,
}
