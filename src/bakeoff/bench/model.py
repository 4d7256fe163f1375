"""The model the loops that are not bakeoff train: bakeoff's text model, written by hand.

The backbone bakeoff builds for a model name, attention-masked mean pooling, dropout and a linear
head, with conf/optim/adamw.yaml's learning rate, weight decay and warm-up.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from bakeoff.bench.options import CONF

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
LR, WEIGHT_DECAY, WARMUP_RATIO, DROPOUT = 5e-5, 0.01, 0.1, 0.1  # as conf/optim/adamw.yaml


def minilm_tokenizer():
    from transformers import AutoTokenizer

    from bakeoff.models.packaged import hf_local_path

    return AutoTokenizer.from_pretrained(hf_local_path(MINILM))


def tiny_bert_config() -> dict[str, Any]:
    """conf/model/tiny_bert.yaml's `backbone.config_overrides` (model_type included): the
    architecture bakeoff builds for model=tiny_bert, for the loops that do not read its config."""
    from omegaconf import OmegaConf

    overrides = OmegaConf.select(OmegaConf.load(CONF / "model" / "tiny_bert.yaml"), "backbone")
    return cast(dict[str, Any], OmegaConf.to_container(overrides["config_overrides"], resolve=True))


def build_encoder(workload: str, seed: int) -> nn.Module:
    """The backbone bakeoff builds for this model name: fp32, train mode, no unused pooler."""
    from transformers import AutoConfig, AutoModel

    torch.manual_seed(seed)
    if workload == "tiny_bert":
        encoder = AutoModel.from_config(AutoConfig.for_model(**tiny_bert_config()))
    elif workload == "minilm":
        from bakeoff.models.packaged import hf_local_path

        path = hf_local_path(MINILM)
        if path is None:
            raise SystemExit(f"minilm: the package with {MINILM}'s weights is not installed")
        encoder = AutoModel.from_pretrained(path, dtype=torch.float32)
    else:
        raise SystemExit(f"unknown workload '{workload}': use minilm or tiny_bert")
    encoder.pooler = None  # bakeoff drops it too: it never gets gradients with mean pooling
    return encoder.train()


class MeanPoolClassifier(nn.Module):
    """Encoder + attention-masked mean pooling + dropout + linear head (bakeoff's text model).

    Returns logits; with `labels` a dict with the loss as well, which is what transformers.Trainer
    expects of a model.
    """

    def __init__(self, encoder: Any, num_classes: int) -> None:  # a transformers model
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(DROPOUT)
        self.proj = nn.Linear(encoder.config.hidden_size, num_classes)

    def forward(self, input_ids, attention_mask, token_type_ids=None, labels=None):
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        logits = self.proj(self.dropout(pooled))
        if labels is None:
            return logits
        return {"loss": F.cross_entropy(logits.float(), labels), "logits": logits}


def linear_warmup(total: int, warmup_ratio: float):
    warmup = max(1, round(total * warmup_ratio))
    decay = max(1, total - warmup)
    return lambda step: (step + 1) / warmup if step < warmup else max(0.0, (total - step) / decay)
