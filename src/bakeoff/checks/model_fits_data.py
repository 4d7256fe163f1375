"""Whether the model can take the data, read from the config alone: the kind of input
(text or image) and, for text, the max length against the backbone's position table (from its
config file, never its weights). Two of the checks `bakeoff.checks.validate` runs."""

from __future__ import annotations

from typing import Any, cast

from omegaconf import DictConfig, OmegaConf

Problems = list[str]

# HF models whose position ids start after the padding index (RoBERTa's offset): they support
# `max_position_embeddings - pad_token_id - 1` tokens.
OFFSET_POSITIONS = ("roberta", "xlm-roberta", "camembert", "roberta-prelayernorm", "data2vec-text")


def target_class(target: str | None) -> type | None:
    """The class a `_target_` names (imported, not instantiated); None if it cannot be found."""
    if not target:
        return None
    from hydra.utils import get_class

    try:
        return get_class(target)
    except Exception:  # instantiation names it properly later
        return None


def data_modality(cfg: DictConfig) -> str | None:
    """ "text" or "image": which backbones the data's DataModule can feed (None: unknown).

    Read from the class's `modality`, which imports only the data's own module: the image
    module would load pandas and PIL into a text job's start-up."""
    return getattr(target_class(cfg.data.get("_target_")), "modality", None) or None


def model_modality(backbone: Any) -> str | None:
    cls = target_class((backbone or {}).get("_target_"))
    return getattr(cls, "modality", None) or None


def models_of(modality: str) -> list[str]:
    """The `model=` options whose backbone takes this modality."""
    from pathlib import Path

    from bakeoff.config import CONF_DIR

    names = []
    for path in sorted(Path(CONF_DIR, "model").glob("*.yaml")):
        if model_modality(OmegaConf.select(OmegaConf.load(path), "backbone")) == modality:
            names.append(path.stem)
    return names


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def check_modality(cfg: DictConfig) -> Problems:
    model, data = model_modality(cfg.model.backbone), data_modality(cfg)
    if model is None or data is None or model == data:
        return []
    return [
        f"model: {cfg.model.name} is {_a(model)} model, but data={cfg.data.name} holds {data} "
        f"data (choose {_a(data)} model: {', '.join(f'model={m}' for m in models_of(data))})"
    ]


def check_max_length(cfg: DictConfig) -> Problems:
    """Text longer than the backbone's position table would fail in the first forward pass."""
    length = cfg.data.get("max_length")
    if data_modality(cfg) != "text" or length is None:
        return []
    if not isinstance(length, int) or length < 2:
        return [f"data.max_length: {length} is not a token count (an integer >= 2, or null)"]
    limit = position_limit(cfg.model.backbone)
    if limit is not None and length > limit:
        return [
            f"data.max_length: {length} is more than model={cfg.model.name} supports "
            f"({limit} tokens, from max_position_embeddings of its config) "
            f"(set data.max_length<={limit})"
        ]
    return []


def position_limit(backbone: Any) -> int | None:
    """How many tokens a Hugging Face backbone can position, read from its config (never its
    weights); None when unknown: not an HF model, not cached, or relative positions (DeBERTa)."""
    from bakeoff.models.hf_backbone import HFBackbone

    cls = target_class((backbone or {}).get("_target_"))
    if cls is None or not issubclass(cls, HFBackbone):
        return None
    config = _hf_config(backbone)
    positions = getattr(config, "max_position_embeddings", None)
    if not isinstance(positions, int) or getattr(config, "position_biased_input", True) is False:
        return None
    if config.model_type in OFFSET_POSITIONS:
        pad = config.pad_token_id if config.pad_token_id is not None else 1
        return positions - pad - 1
    return positions


def _hf_config(backbone: Any):
    from transformers import AutoConfig

    from bakeoff.models.packaged import hf_local_path

    if backbone.get("random_init"):
        overrides = cast(
            dict[str, Any],
            OmegaConf.to_container(backbone.get("config_overrides") or {}, resolve=True),
        )
        model_type = overrides.pop("model_type", None)
        return AutoConfig.for_model(model_type, **overrides) if model_type else None
    name = backbone.name_or_path
    try:  # only what is on disk: the check never waits for a network
        return AutoConfig.from_pretrained(hf_local_path(name) or name, local_files_only=True)
    except (OSError, ValueError):
        return None
