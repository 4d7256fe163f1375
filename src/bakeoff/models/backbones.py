"""The backbone contract every adapter follows, and where offline weights come from.

An adapter turns one family of pretrained models (Hugging Face encoders, timm models) into
the same three things: pooled features of a known size, an ordered list of layer groups
(embeddings -> blocks -> top) that freeze strategies and layer-wise LR decay act on, and the
preprocessing the model was pretrained with (a tokenizer, or timm's data config).
"""

from __future__ import annotations

import functools
import socket
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from bakeoff.errors import ConfigError, ModelNotAvailableError

OFFLINE_CHOICES = (
    "model=minilm, model=mobilenetv2, model=efficientnet_lite0, model=tiny_bert, model=tiny_roberta"
)


@dataclass
class TextPreprocessing:
    """The backbone's tokenizer; how long a text may be is the data's (`data.max_length`)."""

    tokenizer: Any


@dataclass
class ImagePreprocessing:
    """Transforms derived from the backbone's own pretrained data config."""

    train_transform: Callable
    eval_transform: Callable
    input_size: tuple[int, int, int]
    mean: tuple[float, ...] = field(default=(0.485, 0.456, 0.406))
    std: tuple[float, ...] = field(default=(0.229, 0.224, 0.225))


class Backbone(nn.Module):
    """Pretrained model -> pooled features (batch, feature_dim)."""

    modality: str = ""  # "text" | "image": which DataModule can feed it
    feature_dim: int = 0
    source: str = ""  # "hf" | "timm"

    def forward(self, batch: dict[str, Tensor]) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def token_features(self, batch: dict[str, Tensor]) -> Tensor:
        """Per-token features (batch, tokens, feature_dim), for token tasks (NER)."""
        raise ConfigError(
            f"model {type(self).__name__} ({self.modality or 'this backbone'}) gives no per-token "
            "features: token tasks (task=token_classification) need a text backbone"
        )

    def layer_group_names(self) -> list[list[str]]:
        """Parameter names (relative to this module), grouped bottom (embeddings) to top."""
        raise NotImplementedError

    def preprocessing(self) -> TextPreprocessing | ImagePreprocessing:
        raise NotImplementedError

    def layer_groups(self) -> list[list[nn.Parameter]]:
        params = dict(self.named_parameters())
        groups = [[params[n] for n in names] for names in self.layer_group_names()]
        covered = sum(len(g) for g in groups)
        if covered != len(params):  # every parameter must belong to exactly one group
            raise RuntimeError(
                f"{type(self).__name__}: layer groups cover {covered} of {len(params)} parameters"
            )
        return groups


@functools.cache
def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Can the Hugging Face hub be reached? Checked once per process, in seconds.

    Without a network, huggingface_hub retries for about 50 s before giving up; with this check
    a model that is not cached fails at once, and cached models load from the local cache.
    """
    import huggingface_hub.constants as hub

    if hub.HF_HUB_OFFLINE:
        return False
    url = urllib.parse.urlparse(hub.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout_s).close()
    except OSError:
        hub.HF_HUB_OFFLINE = True  # later hub calls (timm, tokenizers) go straight to the cache
        return False
    return True


def not_available(name: str, cause: Exception) -> ModelNotAvailableError:
    return ModelNotAvailableError(
        f"model '{name}' is not in the local cache and could not be downloaded ({type(cause).__name__}). "
        f"Offline choices that ship with the install: {OFFLINE_CHOICES}."
    )
