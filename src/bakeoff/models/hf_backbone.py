"""Adapter for any Hugging Face encoder loaded with `AutoModel` (BERT, RoBERTa, DistilBERT, DeBERTa, MiniLM)."""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import Tensor, nn

from bakeoff.models.backbones import Backbone, TextPreprocessing, hub_reachable, not_available
from bakeoff.models.packaged import hf_local_path

POOLINGS = ("mean", "cls", "pooler")


@contextlib.contextmanager
def no_progress_bar():
    """transformers' tqdm bars off for the block (its own switch), restored after."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


class HFBackbone(Backbone):
    """`AutoModel` encoder with CLS, pooler or attention-masked mean pooling.

    `random_init` builds the architecture from `config_overrides` without weights (tiny test
    models); the tokenizer is still loaded from `tokenizer` (a packaged one in tests).
    `pretrained=False` builds the named model's own architecture (its config) with random
    weights: what pretraining adds, on the same network and tokenizer.
    """

    modality = "text"
    source = "hf"

    def __init__(
        self,
        name_or_path: str,
        pooling: str = "cls",
        tokenizer: str | None = None,
        random_init: bool = False,
        pretrained: bool = True,
        config_overrides: dict[str, Any] | None = None,
        gradient_checkpointing: bool = False,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"model.backbone.pooling must be one of {POOLINGS}, got '{pooling}'")
        from transformers import AutoConfig, AutoModel

        self.name_or_path = name_or_path
        self.pooling = pooling
        self._tokenizer_name = tokenizer or name_or_path
        overrides = dict(config_overrides or {})
        try:
            if random_init:
                model_type = overrides.pop("model_type")
                config = AutoConfig.for_model(model_type, **overrides)
                self.model = AutoModel.from_config(config)
            elif not pretrained:
                path = hf_local_path(name_or_path)
                config = AutoConfig.from_pretrained(
                    path or name_or_path,
                    local_files_only=path is not None or not hub_reachable(),
                    **overrides,
                )
                self.model = AutoModel.from_config(config)
            else:
                path = hf_local_path(name_or_path)
                # transformers 5 returns eval mode and the stored dtype: force fp32, train mode.
                # Without its "Loading weights" bar: a job's console says what bakeoff knows.
                with no_progress_bar():
                    self.model = AutoModel.from_pretrained(
                        path or name_or_path,
                        dtype=torch.float32,
                        local_files_only=path is not None or not hub_reachable(),
                        **overrides,
                    )
        except OSError as err:
            raise not_available(name_or_path, err) from err
        self.model.train()
        if pooling != "pooler" and getattr(self.model, "pooler", None) is not None:
            # An unused pooler would hold trainable weights that never get gradients (DDP errors).
            self.model.pooler = None
        if gradient_checkpointing:
            self.model.gradient_checkpointing_enable()
        self.feature_dim = int(
            getattr(self.model.config, "hidden_size", None) or self.model.config.dim
        )
        self._accepts_token_types = "token_type_ids" in self.model.forward.__code__.co_varnames

    def token_features(self, batch: dict[str, Tensor]) -> Tensor:
        """The last hidden state (batch, tokens, feature_dim): what a token task's head reads.

        Through `__call__`, so a compiled backbone (model.compile) runs compiled here too.
        """
        return self(batch, per_token=True)

    def forward(self, batch: dict[str, Tensor], per_token: bool = False) -> Tensor:
        inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        if self._accepts_token_types and "token_type_ids" in batch:
            inputs["token_type_ids"] = batch["token_type_ids"]
        out = self.model(**inputs)
        if per_token:
            return out.last_hidden_state
        if self.pooling == "pooler":
            return out.pooler_output
        hidden = out.last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def layer_group_names(self) -> list[list[str]]:
        """Embeddings, then one group per transformer block, then whatever sits on top.

        The blocks are the longest `nn.ModuleList` in the model, which holds for every HF encoder
        (encoder.layer, transformer.layer, ...). Parameters outside the blocks go to the
        embeddings group when they come before the blocks or are embeddings (DeBERTa's
        relative position table), else to the top group (final norms, pooler).
        """
        blocks_path, blocks = max(
            ((n, m) for n, m in self.named_modules() if isinstance(m, nn.ModuleList)),
            key=lambda item: len(item[1]),
        )
        block_of = {}
        for i, block in enumerate(blocks):
            for pname, _ in block.named_parameters():
                block_of[f"{blocks_path}.{i}.{pname}"] = i
        bottom, top = [], []
        per_block: list[list[str]] = [[] for _ in blocks]
        seen_block = False
        for name, _ in self.named_parameters():
            if name in block_of:
                per_block[block_of[name]].append(name)
                seen_block = True
            elif not seen_block or "embed" in name:
                bottom.append(name)
            else:
                top.append(name)
        return [g for g in [bottom, *per_block, top] if g]

    def preprocessing(self) -> TextPreprocessing:
        from transformers import AutoTokenizer

        path = hf_local_path(self._tokenizer_name)
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                path or self._tokenizer_name,
                local_files_only=path is not None or not hub_reachable(),
            )
        except OSError as err:
            raise not_available(self._tokenizer_name, err) from err
        return TextPreprocessing(tokenizer=tokenizer)
