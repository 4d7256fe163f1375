"""Adapter for any timm image model (ResNet, ViT, ConvNeXt, EfficientNet, MobileNet, ...).

The model is created headless (`num_classes=0`), so its forward returns the pooled pre-logits
features. Layer groups come from timm's own `group_matcher` (stem -> blocks -> final norm) and
preprocessing from the model's pretrained data config, so every backbone is fed the way it
was pretrained.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from bakeoff.errors import ConfigError
from bakeoff.models.backbones import Backbone, ImagePreprocessing, hub_reachable, not_available
from bakeoff.models.packaged import timm_packaged_loader


class TimmBackbone(Backbone):
    """`timm.create_model(model_name, num_classes=0)` -> pooled features (batch, feature_dim).

    With `pretrained=True`, weights that an installed package carries (see
    `packaged.TIMM_PACKAGED`) load from disk; any other model comes from the hub, and a failed
    download raises `ModelNotAvailableError` listing the offline choices. `img_size` sets the
    input resolution (models with a fixed input size, such as ViT, are built for it; position
    embeddings are resampled).
    """

    modality = "image"
    source = "timm"

    def __init__(
        self,
        model_name: str,
        pretrained: bool = True,
        img_size: int | None = None,
        drop_path_rate: float | None = None,
        gradient_checkpointing: bool = False,
    ) -> None:
        super().__init__()
        import timm
        from timm.models import get_pretrained_cfg

        if not timm.is_model(model_name):
            raise ConfigError(
                f"model.backbone.model_name: '{model_name}' is not a timm model "
                "(see timm.list_models())"
            )
        self.model_name, self.img_size = model_name, img_size
        kwargs: dict[str, Any] = {"num_classes": 0}
        if drop_path_rate is not None:
            kwargs["drop_path_rate"] = drop_path_rate
        cfg = get_pretrained_cfg(model_name)
        if img_size is not None and cfg is not None and cfg.fixed_input_size:
            kwargs["img_size"] = img_size  # CNNs take any size; ViTs are built for one

        self.model: Any  # a timm model (its group_matcher, set_grad_checkpointing, ...)
        loader = timm_packaged_loader(model_name) if pretrained else None
        if loader is not None or not pretrained:
            self.model = timm.create_model(model_name, pretrained=False, **kwargs)
            if loader is not None:
                loader(self.model)
        else:
            hub_reachable()  # no network: switch the hub client to its cache before it retries
            try:
                self.model = timm.create_model(model_name, pretrained=True, **kwargs)
            except Exception as err:  # no network / not cached: hub, HTTP and file errors vary
                raise not_available(model_name, err) from err
        self.model.train()
        if gradient_checkpointing:
            self.model.set_grad_checkpointing(True)
        self.feature_dim = int(
            getattr(self.model, "head_hidden_size", None) or self.model.num_features
        )

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        return self.model(batch["pixel_values"])

    def layer_group_names(self) -> list[list[str]]:
        """timm's fine-grained groups: stem first, then one per block; the last block shares
        its group with whatever follows it (final norm, conv head)."""
        from timm.models import group_parameters

        groups = group_parameters(self.model, self.model.group_matcher(coarse=False))
        return [[f"model.{name}" for name in groups[k]] for k in sorted(groups) if groups[k]]

    def data_config(self) -> dict[str, Any]:
        """timm's pretrained data config (input_size, interpolation, mean, std, crop_pct, ...),
        with `input_size` set to `img_size` when given."""
        from timm.data import resolve_data_config

        cfg = resolve_data_config({}, model=self.model)
        if self.img_size is not None:
            cfg["input_size"] = (cfg["input_size"][0], self.img_size, self.img_size)
        return cfg

    def preprocessing(self) -> ImagePreprocessing:
        from timm.data import create_transform

        cfg = self.data_config()
        return ImagePreprocessing(
            train_transform=create_transform(**cfg, is_training=True),
            eval_transform=create_transform(**cfg, is_training=False),
            input_size=tuple(cfg["input_size"]),
            mean=tuple(cfg["mean"]),
            std=tuple(cfg["std"]),
        )
