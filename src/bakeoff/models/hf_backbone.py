"""Adapter for any Hugging Face encoder loaded with `AutoModel` (BERT, RoBERTa, DistilBERT, DeBERTa, MiniLM)."""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

import torch
from torch import Tensor, nn

from bakeoff.models.backbones import Backbone, TextPreprocessing, hub_reachable, not_available
from bakeoff.models.packaged import hf_local_path

log = logging.getLogger(__name__)

POOLINGS = ("mean", "cls", "pooler")


@contextlib.contextmanager
def quiet_loading():
    """transformers' "Loading weights" bar and its LOAD REPORT table off for the block, restored
    after: `report_loading` says what matters in one line instead."""
    from transformers.utils import logging as hf_logging

    was_on, verbosity = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if was_on:
            hf_logging.enable_progress_bar()


def report_loading(name: str, info: dict[str, list], kept_layers: int | None) -> None:
    """One line about the checkpoint's fit: a warning for weights the model lacks or that do not
    fit (they train from random init), an info line for layers a `num_hidden_layers` override
    cut on purpose (the checkpoint's later layers, unused)."""
    missing, mismatched = info.get("missing_keys") or [], info.get("mismatched_keys") or []
    if missing or mismatched:
        names = sorted(map(str, [*missing, *mismatched]))
        log.warning(
            "%s: %d weights not in the checkpoint or of another shape start from random init: %s",
            name, len(names), ", ".join(names[:4]) + (" ..." if len(names) > 4 else ""),
        )  # fmt: skip
    unexpected = info.get("unexpected_keys") or []
    cut = {int(m.group(1)) for k in unexpected if (m := re.search(r"layers?\.(\d+)\.", k))}
    if kept_layers is not None and cut and min(cut) >= kept_layers:
        log.info(
            "%s: its first %d layers loaded; the checkpoint's layers %d..%d are not used",
            name, kept_layers, min(cut), max(cut),
        )  # fmt: skip
    elif unexpected:
        log.warning("%s: %d checkpoint weights not used: %s", name, len(unexpected),
                    ", ".join(sorted(unexpected)[:4]) + (" ..." if len(unexpected) > 4 else ""))  # fmt: skip


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
                # Without its bar and report: a job's console says what bakeoff knows.
                with quiet_loading():
                    self.model, info = AutoModel.from_pretrained(
                        path or name_or_path,
                        dtype=torch.float32,
                        local_files_only=path is not None or not hub_reachable(),
                        output_loading_info=True,
                        **overrides,
                    )
                report_loading(name_or_path, info, overrides.get("num_hidden_layers"))
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
