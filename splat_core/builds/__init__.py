"""Build data: the full-build table, the synthetic generator with planted archetypes,
SplatNLP's reference format in and out, and the partial-build samples that get analysed."""
