"""The files of a checkpoint version directory (the model's and the SAE's): named here, at
the root, so that the asset contract can list them without importing torch."""

MODEL_WEIGHTS, MODEL_PARAMS = "model.safetensors", "model_params.json"  # model/io.py
SAE_WEIGHTS, SAE_CONFIG = "sae.safetensors", "sae_config.json"  # sae/io.py
METRICS_JSON = "metrics.json"  # a checkpoint's training metrics
