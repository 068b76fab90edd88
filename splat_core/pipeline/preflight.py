"""Before a run publishes anything: everything it would import from outside (a SplatNLP
dataset and its vocabularies, a model checkpoint, an SAE checkpoint or SAELens directory) is
read and checked, and checked against each other. A bad file stops the run before the first
asset is published, with the reason (`file:line` for the data)."""

from __future__ import annotations

from pathlib import Path

from splat_core.builds.reference import read_reference_dataset
from splat_core.domain.vocab import Vocab
from splat_core.model.io import load_model
from splat_core.pipeline.config import SplatConfig
from splat_core.sae import load_sae
from splat_core.sae.saelens import import_saelens


def check_sources(config: SplatConfig) -> None:
    """Raise (ReferenceDataError, FileNotFoundError or ValueError) unless every outside
    source of the config reads and fits the others."""
    data = config.data
    if data.source == "reference":
        table, _ = read_reference_dataset(
            data.data, data.vocab, data.weapon_vocab, skip_invalid=data.skip_invalid
        )
        n_tokens = len(table.vocab)
    else:
        n_tokens = len(Vocab.canonical())
    hidden = None
    if config.model.source == "reference":
        model = load_model(config.model.path)
        check_model(model, n_tokens, config.model.path)
        hidden = model.output_layer.in_features
    if config.sae_source.source != "trained":
        sae = load_imported_sae(config.sae_source.source, config.sae_source.path)
        if hidden is not None:
            check_sae(sae, hidden, config.sae_source.path)


def load_imported_sae(source: str, path: str):
    """The SAE of an outside directory: a reference (SplatNLP) one or a SAELens one."""
    if source == "saelens":
        return import_saelens(path)
    return load_sae(path)


def check_model(model, n_tokens: int, path) -> None:
    """An imported model must read the data's vocabulary."""
    if model.ability_embedding.num_embeddings != n_tokens:
        raise ValueError(
            f"{Path(path)}: model vocab_size {model.ability_embedding.num_embeddings} != "
            f"{n_tokens} tokens in the builds' vocab.json"
        )


def check_sae(sae, width: int, path) -> None:
    """An imported SAE must read the model's pooled vectors."""
    if sae.input_dim != width:
        raise ValueError(f"{Path(path)}: SAE input_dim {sae.input_dim} != pooled dim {width}")
