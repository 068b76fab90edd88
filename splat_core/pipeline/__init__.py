"""The asset pipeline without a framework: the config profiles, one step function per asset
(read inputs, compute, write a staging directory, return metadata and a check outcome), the
data checks behind the asset checks, and shard freshness."""
