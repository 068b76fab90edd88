"""How assets live under SPLAT_HOME: the asset contract (names, order, groups, partitions,
formats, files), homes (local or object store), the versioned catalog with atomic
publishing, and each artifact kind's directory format."""
