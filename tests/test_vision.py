"""Vision path: timm adapter, packaged offline weights, image sources and batches."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from bakeoff.data.image import (
    FASHION_MNIST_CLASSES,
    DigitsSource,
    FashionMNISTSource,
    ImageData,
    ImageFolderSource,
)
from bakeoff.errors import ConfigError, DataError, ModelNotAvailableError
from bakeoff.models import packaged
from bakeoff.models.timm_backbone import TimmBackbone


def classification_task():
    from bakeoff.tasks.classification import Classification

    return Classification(
        name="classification", metrics=["acc"], monitor={"metric": "val/acc", "mode": "max"}
    )


FASHION_ROOT = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="module")
def mobilenet():
    return TimmBackbone("mobilenetv2_100").eval()


@pytest.fixture(scope="module")
def lite0():
    return TimmBackbone("tf_efficientnet_lite0").eval()


@pytest.fixture(scope="module")
def imagenet_categories():
    import torchvision

    return torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]


def data_module(source, preprocessing, **kwargs) -> ImageData:
    args = dict(
        name="test",
        source=source,
        batch_size=16,
        eval_batch_size=32,
        num_workers=0,
        val_fraction=0.1,
        split_seed=0,
        preprocessing=preprocessing,
        pin_memory=False,
        task=classification_task(),
    )
    return ImageData(**{**args, **kwargs})


# -- packaged weights ---------------------------------------------------------------------------


def test_mobilenetv2_features_match_torchvision(mobilenet):
    import torchvision

    reference = torchvision.models.mobilenet_v2()
    reference.load_state_dict(torch.load(packaged._mobilenet_v2_file(), weights_only=True))
    reference.eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        expected = F.adaptive_avg_pool2d(reference.features(x), 1).flatten(1)
        features = mobilenet({"pixel_values": x})
    assert features.shape == (2, mobilenet.feature_dim) == (2, 1280)
    torch.testing.assert_close(features, expected, atol=1e-5, rtol=1e-4)


def _lite0_reference(sd: dict, x: torch.Tensor) -> torch.Tensor:
    """EfficientNet-Lite0 written out from the TF definition, on the package's raw state dict:
    TF "same" padding (extra pixel right/bottom), BatchNorm eps 1e-3, ReLU6, no squeeze-excite,
    a skip wherever stride 1 keeps the width; pooled features before the classifier."""
    strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]  # stages r1 r2 r2 r3 r3 r4 r1

    def conv(x, w, stride=1, groups=1):
        k = w.shape[-1]
        pads = [max((math.ceil(n / stride) - 1) * stride + k - n, 0) for n in x.shape[-2:]]
        ph, pw = pads
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, w, stride=stride, groups=groups)

    def bn(x, p):
        return F.batch_norm(
            x, sd[f"{p}.running_mean"], sd[f"{p}.running_var"], sd[f"{p}.weight"], sd[f"{p}.bias"],
            training=False, eps=1e-3,
        )  # fmt: skip

    x = F.relu6(bn(conv(x, sd["_conv_stem.weight"], 2), "_bn0"))
    for n, stride in enumerate(strides):
        b, inp = f"_blocks.{n}", x
        if f"{b}._expand_conv.weight" in sd:
            x = F.relu6(bn(conv(x, sd[f"{b}._expand_conv.weight"]), f"{b}._bn0"))
        x = conv(x, sd[f"{b}._depthwise_conv.weight"], stride, groups=x.shape[1])
        x = F.relu6(bn(x, f"{b}._bn1"))
        x = bn(conv(x, sd[f"{b}._project_conv.weight"]), f"{b}._bn2")
        if stride == 1 and x.shape == inp.shape:
            x = x + inp
    x = F.relu6(bn(conv(x, sd["_conv_head.weight"]), "_bn1"))
    return x.mean((2, 3))


def test_efficientnet_lite0_features_match_reference(lite0):
    sd = torch.load(packaged._efficientnet_lite0_file(), weights_only=True)
    x = torch.randn(2, 3, 97, 101)  # odd sizes: asymmetric "same" padding at every stride 2
    with torch.no_grad():
        expected = _lite0_reference(sd, x)
        features = lite0({"pixel_values": x})
    assert features.shape == (2, lite0.feature_dim) == (2, 1280)
    torch.testing.assert_close(features, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(
    ("backbone", "weights", "fc", "expected"),
    [
        ("mobilenet", "_mobilenet_v2_file", "classifier.1", {"china.jpg": "palace"}),
        (
            "lite0",
            "_efficientnet_lite0_file",
            "_fc",
            {"china.jpg": "palace", "flower.jpg": "daisy"},
        ),
    ],
)
def test_packaged_weights_recognise_photos(
    request, imagenet_categories, backbone, weights, fc, expected
):
    """The packaged ImageNet classifier on the adapter's features, through the adapter's own
    eval transform (resize, crop, the model's mean/std), names scikit-learn's sample photos."""
    from sklearn.datasets import load_sample_image

    model = request.getfixturevalue(backbone)
    sd = torch.load(getattr(packaged, weights)(), weights_only=True)
    transform = model.preprocessing().eval_transform
    for image_name, label in expected.items():
        x = transform(Image.fromarray(load_sample_image(image_name)))[None]
        with torch.no_grad():
            logits = F.linear(model({"pixel_values": x}), sd[f"{fc}.weight"], sd[f"{fc}.bias"])
        assert imagenet_categories[int(logits.argmax())] == label, image_name


def test_packaged_loader_rejects_a_mismatched_model():
    import timm

    model = timm.create_model("efficientnet_b0", pretrained=False, num_classes=0)
    with pytest.raises(RuntimeError, match="efficientnet-lite0"):
        packaged.TIMM_PACKAGED["tf_efficientnet_lite0"](model)  # b0 has squeeze-excite layers


def test_packaged_registry():
    for name in ("mobilenetv2_100", "tf_efficientnet_lite0"):
        assert packaged.timm_packaged_loader(name) is packaged.TIMM_PACKAGED[name]
    assert packaged.timm_packaged_loader("resnet50") is None


# -- adapter --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("mobilenetv2_100", "model.conv_stem.weight", "model.bn2.weight"),
        ("test_vit", "model.patch_embed.proj.weight", "model.norm.weight"),
        ("test_convnext", "model.stem.0.weight", "model.head.norm.weight"),
    ],
)
def test_layer_groups_cover_all_parameters_stem_first(name, first, last):
    backbone = TimmBackbone(name, pretrained=False)
    names = backbone.layer_group_names()
    flat = [n for group in names for n in group]
    assert sorted(flat) == sorted(n for n, _ in backbone.named_parameters())
    assert len(flat) == len(set(flat))
    assert len(names) > 3
    assert first in names[0] and last in names[-1]
    assert len(backbone.layer_groups()) == len(names)
    assert backbone.modality == "image" and backbone.source == "timm"


def test_preprocessing_follows_img_size():
    backbone = TimmBackbone("test_vit", pretrained=False, img_size=64)  # fixed-size model
    pp = backbone.preprocessing()
    assert pp.input_size == (3, 64, 64)
    assert pp.mean == (0.5, 0.5, 0.5)
    gray = Image.fromarray(np.zeros((28, 28), np.uint8)).convert("RGB")
    for transform in (pp.train_transform, pp.eval_transform):
        assert transform(gray).shape == (3, 64, 64)
    with torch.no_grad():
        features = backbone({"pixel_values": pp.eval_transform(gray)[None]})
    assert features.shape == (1, backbone.feature_dim)
    default = TimmBackbone("mobilenetv2_100", pretrained=False).preprocessing()
    assert default.input_size == (3, 224, 224)
    assert default.eval_transform(gray).shape == (3, 224, 224)


def test_uncached_hub_model_names_offline_choices(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))  # nothing cached
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(ModelNotAvailableError, match="model=mobilenetv2") as info:
        TimmBackbone("resnet18", pretrained=True)
    assert "resnet18" in str(info.value)


def test_unknown_timm_model_is_a_config_error():
    with pytest.raises(ConfigError, match="not_a_model"):
        TimmBackbone("not_a_model")


# -- sources and batches ----------------------------------------------------------------------------


@pytest.mark.skipif(not FASHION_ROOT.is_dir(), reason="apt package dataset-fashion-mnist missing")
def test_fashion_mnist_loads_and_caches(tmp_path):
    raw = FashionMNISTSource(str(FASHION_ROOT), cache_dir=str(tmp_path)).load()
    assert len(raw["train"].labels) == 60000 and len(raw["test"].labels) == 10000
    assert raw["train"].items.shape == (60000, 28, 28)
    assert raw["train"].items.dtype == np.uint8
    assert set(raw["train"].labels) == set(FASHION_MNIST_CLASSES)
    assert raw["train"].labels[0] == "Ankle boot"  # the first training image is label 9
    assert (tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    again = FashionMNISTSource(str(FASHION_ROOT), cache_dir=str(tmp_path)).load()  # from cache
    assert np.array_equal(again["test"].items, raw["test"].items)


def test_missing_fashion_mnist_names_path_and_package(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match="dataset-fashion-mnist") as info:
        FashionMNISTSource(str(missing)).load()
    assert str(missing) in str(info.value)


def test_digits_split_is_stratified():
    raw = DigitsSource(test_fraction=0.2, seed=0).load()
    train, test = raw["train"].labels, raw["test"].labels
    assert len(train) + len(test) == 1797
    assert sorted(set(train)) == [str(d) for d in range(10)]
    for digit in map(str, range(10)):
        share = test.count(digit) / (test.count(digit) + train.count(digit))
        assert abs(share - 0.2) < 0.02, digit
    assert raw["train"].items.dtype == np.uint8 and raw["train"].items.max() == 255


def test_grayscale_batches_become_three_channels():
    pp = TimmBackbone("test_efficientnet", pretrained=False, img_size=32).preprocessing()
    dm = data_module(DigitsSource(), pp, limit_train=64)
    dm.setup("fit")
    assert dm.num_classes == 10 and dm.label_names == [str(d) for d in range(10)]
    assert dm.sizes()["n_train"] == 64
    for loader, size in ((dm.train_dataloader(), 16), (dm.test_dataloader(), 32)):
        batch = next(iter(loader))
        assert set(batch) == {"pixel_values", "labels", "index"}
        assert batch["pixel_values"].shape == (size, 3, 32, 32)
        assert batch["pixel_values"].dtype == torch.float32
        assert batch["labels"].dtype == torch.long and batch["index"].dtype == torch.long
    test_batch = next(iter(dm.test_dataloader()))
    assert test_batch["index"].tolist() == list(range(32))
    resized = data_module(DigitsSource(), pp, limit_train=16, image_size=40, augment=False)
    resized.setup("fit")
    assert next(iter(resized.train_dataloader()))["pixel_values"].shape == (16, 3, 40, 40)


def test_image_folder_source(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 2)):
        for cls in ("cat", "dog"):
            folder = tmp_path / split / cls
            folder.mkdir(parents=True)
            for i in range(n):
                mode_shape = (12, 10) if i % 2 else (12, 10, 3)  # grayscale and RGB files
                Image.fromarray(rng.integers(0, 255, mode_shape, dtype=np.uint8)).save(
                    folder / f"{i}.png"
                )
    source = ImageFolderSource(str(tmp_path / "train"), str(tmp_path / "test"))
    pp = TimmBackbone("test_efficientnet", pretrained=False, img_size=32).preprocessing()
    dm = data_module(source, pp, val_fraction=0.25)
    dm.setup("fit")
    assert dm.label_names == ["cat", "dog"]
    assert dm.sizes() == {"n_train": 9, "n_val": 3, "n_test": 4}
    batch = next(iter(dm.test_dataloader()))
    assert batch["pixel_values"].shape == (4, 3, 32, 32)
    assert batch["labels"].tolist() == [0, 0, 1, 1]

    missing = tmp_path / "absent"
    with pytest.raises(DataError) as info:
        ImageFolderSource(str(tmp_path / "train"), str(missing)).load()
    assert str(missing) in str(info.value)


@pytest.mark.parametrize("model", ["mobilenetv2", "efficientnet_lite0", "resnet50", "vit_b16"])
def test_vision_configs_compose(tmp_path, model):
    from tests.helpers.runs import compose

    if not (Path(__file__).parents[1] / "conf" / "train.yaml").is_file():
        pytest.skip("conf/train.yaml not written yet")
    cfg = compose(tmp_path, f"model={model}", "data=fashion_mnist", "data.image_size=64")
    assert cfg.model.backbone._target_ == "bakeoff.models.timm_backbone.TimmBackbone"
    assert cfg.model.backbone.img_size == 64
    assert cfg.data.source.cache_dir == str(tmp_path / ".data")
    assert cfg.data.augment is True
