"""splat's domain and every computation, framework-free, in layers (docs/architecture.md):
domain, builds, model, sparse, sae, analysis, store, pipeline, query, labels, investigate.
The modules at this root (atomic, choices) belong to all layers and import none of them."""

__version__ = "0.1.0"
