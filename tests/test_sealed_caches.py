"""Caches verify themselves: a damaged, truncated, empty or swapped entry is one warning naming
the file, then rebuilt; never a traceback, never a wrong entry (issue 24, item 3)."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from bakeoff.data.token_cache import tokenize

VAL = ["a short review", "a much longer review of a tin of tea, which was stale", "ok"]
TEST = ["another text", "and one more of them, longer than the others", "fine"]


def damage(path, how: str, other=None) -> None:
    if how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "empty":
        path.write_bytes(b"")
    else:  # a valid entry of other content copied over this one
        shutil.copyfile(other, path)


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from bakeoff.models.packaged import hf_local_path

    return AutoTokenizer.from_pretrained(hf_local_path("sentence-transformers/all-MiniLM-L6-v2"))


@pytest.mark.parametrize("how", ["truncated", "empty", "swapped"])
def test_token_cache_entry_damaged_is_one_warning_then_tokenized_again(
    tokenizer, tmp_path, caplog, how
):
    expected, _ = tokenize(tokenizer, VAL, None, 16, tmp_path)
    (val_entry,) = tmp_path.glob("*.npz")
    tokenize(tokenizer, TEST, None, 16, tmp_path)
    (test_entry,) = set(tmp_path.glob("*.npz")) - {val_entry}
    damage(val_entry, how, other=test_entry)
    with caplog.at_level(logging.WARNING):
        again, hit = tokenize(tokenizer, VAL, None, 16, tmp_path)
    assert not hit and again == expected
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and str(val_entry) in warnings[0].getMessage()
    assert tokenize(tokenizer, VAL, None, 16, tmp_path) == (expected, True)  # rebuilt whole


@pytest.mark.parametrize("how", ["truncated", "empty", "swapped"])
def test_split_cache_entry_damaged_is_one_warning_then_drawn_again(tmp_path, caplog, how):
    from bakeoff.data.splits import split_indices

    labels = np.array([0, 1] * 50)
    args = dict(n_val_given=None, val_fraction=0.2, folds=None, fold=None)
    drawn = split_indices(labels, **args, split_seed=3)
    split_indices(labels, **args, split_seed=3, cache_dir=str(tmp_path))
    (entry,) = (tmp_path / "read").glob("split-*.npz")
    split_indices(labels, **args, split_seed=4, cache_dir=str(tmp_path))
    (other,) = set((tmp_path / "read").glob("split-*.npz")) - {entry}
    damage(entry, how, other=other)
    with caplog.at_level(logging.WARNING):
        kept = split_indices(labels, **args, split_seed=3, cache_dir=str(tmp_path))
    np.testing.assert_array_equal(kept.val, drawn.val)
    np.testing.assert_array_equal(kept.train, drawn.train)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and str(entry) in warnings[0].getMessage()


def test_read_cache_entry_swapped_is_read_again(tmp_path, caplog):
    from bakeoff.data.read_cache import load_splits
    from tests.test_read_cache import source_of, write_csv

    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write_csv(first, [("a", "x"), ("b", "y")])
    write_csv(second, [("c", "x"), ("d", "y")])
    load_splits(source_of(first), tmp_path / "cache")
    (entry,) = (tmp_path / "cache" / "read").glob("*.pkl")
    load_splits(source_of(second), tmp_path / "cache")
    (other,) = set((tmp_path / "cache" / "read").glob("*.pkl")) - {entry}
    shutil.copyfile(other, entry)
    with caplog.at_level(logging.WARNING):
        raw = load_splits(source_of(first), tmp_path / "cache")
    assert raw["train"].items == ["a", "b"]
    assert str(entry) in caplog.text and "another entry" in caplog.text


@pytest.mark.parametrize("how", ["truncated", "swapped"])
def test_feature_cache_entry_damaged_is_computed_again(tmp_path, caplog, how):
    import torch

    from bakeoff.models.feature_cache import read_features, write_features

    path, other = tmp_path / "a.pt", tmp_path / "b.pt"
    write_features(path, torch.ones(4, 3))
    write_features(other, torch.zeros(4, 3))
    assert torch.equal(read_features(path, 4), torch.ones(4, 3))
    damage(path, how, other=other)
    with caplog.at_level(logging.WARNING):
        assert read_features(path, 4) is None  # the caller computes them again
    assert str(path) in caplog.text and "building it again" in caplog.text
