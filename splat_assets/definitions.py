"""The Dagster code location. The asset graph of DESIGN.md is defined here (next issue);
for now the main job runs through `splat_core.pipeline` without an orchestrator."""

import dagster as dg

defs = dg.Definitions()
