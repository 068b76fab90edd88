"""The set-completion model: architecture, checkpoints, training and evaluation."""

from splat_core.model.io import load_model, save_model
from splat_core.model.set_completion import ModelParams, SetCompletionModel

__all__ = ["ModelParams", "SetCompletionModel", "load_model", "save_model"]
