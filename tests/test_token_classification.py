"""Token classification (NER): first-sub-token alignment, entity-level metrics (checked against
seqeval), tag validation with file:line, CoNLL text / JSONL / Parquet / HF sources, and a CLI run
whose results.json matches the entity F1 recomputed from its predictions file."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
import torch

from bakeoff.data.raw import RawSplit
from bakeoff.errors import ConfigError, DataError
from bakeoff.tasks.metrics import entities, entity_counts
from bakeoff.tasks.token_classification import TokenClassification
from bakeoff.utils.build import build
from tests.helpers.conll import (
    CONLL_TAGS,
    sentences,
    write_conll,
    write_conll2003_parquet,
    write_jsonl,
)
from tests.helpers.runs import ROOT, compose, run_cli

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from bakeoff.models.packaged import hf_local_path

    return AutoTokenizer.from_pretrained(hf_local_path(MINILM))


def task(**options) -> TokenClassification:
    return TokenClassification(
        "token_classification",
        ["f1", "precision", "recall", "acc"],
        {"metric": "val/f1", "mode": "max"},
        **options,
    )


def datamodule(tmp_path: Path, *overrides: str):
    """The TextData a `train.py <overrides>` run builds (tiny_bert's tokenizer), set up."""
    from bakeoff.models.backbones import TextPreprocessing

    cfg = compose(tmp_path, "model=tiny_bert", "data.cache_dir=null", *overrides)
    from transformers import AutoTokenizer

    from bakeoff.models.packaged import hf_local_path

    tok = AutoTokenizer.from_pretrained(hf_local_path(MINILM))
    dm = build(cfg.data, preprocessing=TextPreprocessing(tokenizer=tok), task=build(cfg.task))
    dm.setup("fit")
    return dm


# -- alignment ------------------------------------------------------------------------------------
def test_the_first_sub_token_of_a_word_gets_its_tag(tokenizer):
    from bakeoff.data.token_cache import tokenize

    words = ["Schwarzenegger", "visited", "Saarbruecken", "."]
    assert len(tokenizer.tokenize("Saarbruecken")) == 5  # sa ##ar ##br ##ue ##cken
    t = task()
    names = CONLL_TAGS
    target = t.encode([["B-PER", "O", "B-LOC", "O"]], names, "test")[0]
    enc, _ = tokenize(tokenizer, [words], None, max_length=None, cache_dir=None, words=True)
    word_ids = enc["word_ids"][0]
    tokens, gold, first = t.align(target, word_ids)
    pieces = tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
    assert pieces == ["[CLS]", "schwarz", "##ene", "##gger", "visited"] + [
        "sa",
        "##ar",
        "##br",
        "##ue",
        "##cken",
        ".",
        "[SEP]",
    ]
    per, loc = names.index("B-PER"), names.index("B-LOC")
    assert tokens == [-100, per, -100, -100, 0, loc, -100, -100, -100, -100, 0, -100]
    assert first == [1, 4, 5, 10] and gold == [per, 0, loc, 0]
    # a batch, by name: token targets, word gold ids and first sub-tokens, each padded with -100
    labels = t.collate_labels([(tokens, gold, first), ([-100, 0, -100], [0], [1])], width=12)
    assert set(labels) == set(t.label_keys) == {"labels", "word_labels", "first_token"}
    assert labels["labels"].shape == (2, 12)
    assert labels["word_labels"].shape == labels["first_token"].shape == (2, 4)
    assert labels["labels"][0].tolist() == tokens
    assert labels["labels"][1].tolist() == [-100, 0] + [-100] * 10
    assert labels["word_labels"].tolist() == [gold, [0, -100, -100, -100]]
    assert labels["first_token"].tolist() == [first, [1, -100, -100, -100]]


def test_a_word_cut_off_by_max_length_is_predicted_O_and_scored(tokenizer):
    from bakeoff.data.token_cache import tokenize

    t, names = task(), CONLL_TAGS
    words = ["EU", "rejects", "Saarbruecken", "call"]
    target = t.encode([["B-ORG", "O", "B-LOC", "O"]], names, "test")[0]
    enc, _ = tokenize(tokenizer, [words], None, max_length=6, cache_dir=None, words=True)
    # [CLS] eu rejects sa ##ar [SEP]: Saarbruecken keeps its first piece, `call` is cut off
    aligned = t.align(target, enc["word_ids"][0])
    assert aligned[2] == [1, 2, 3, -1]
    labels = t.collate_labels([aligned], width=6)
    logits = torch.full((1, 6, len(names)), -5.0)
    for position, tag in ((1, "B-ORG"), (2, "O"), (3, "B-LOC"), (4, "I-PER")):
        logits[0, position, names.index(tag)] = 5.0
    rows = t.rows([t.gather(logits, {**labels, "index": torch.tensor([0])})], names)
    assert rows[0]["pred"] == ["B-ORG", "O", "B-LOC", "O"]
    assert (rows[0]["tp"], rows[0]["fp"], rows[0]["fn"]) == (2, 0, 0)
    assert t.loss(logits, t.targets(labels)).item() == pytest.approx(0.0, abs=1e-3)  # labeled only


# -- metrics --------------------------------------------------------------------------------------
def word_metrics(gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """Our metric collection on word-level tag id tensors (padding: -100)."""
    t, names = task(), CONLL_TAGS
    width = max(map(len, gold))

    def ids(seqs):
        rows = [[names.index(x) for x in s] + [-100] * (width - len(s)) for s in seqs]
        return torch.tensor(rows)

    metrics = t.metrics(names, validate=True)
    metrics.update(ids(pred), ids(gold))
    return {k: float(v) for k, v in metrics.compute().items()}


def test_entity_f1_differs_from_token_accuracy():
    gold = [["B-PER", "I-PER", "O", "O", "B-LOC"]]
    pred = [["B-PER", "O", "O", "O", "B-LOC"]]  # 4 of 5 words right, but Peter Blackburn is cut
    m = word_metrics(gold, pred)
    assert m["acc"] == pytest.approx(0.8)
    # entities: gold {PER 0-2, LOC 4}, pred {PER 0-1, LOC 4}: tp 1, fp 1, fn 1
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(0.5)


def test_entity_metrics_match_seqeval_on_random_tag_sequences():
    from seqeval.metrics import f1_score, precision_score, recall_score

    rng = random.Random(0)
    gold, pred = [], []
    for _ in range(300):  # random sequences: malformed ones (I- after O, type changes) too
        n = rng.randint(1, 12)
        gold.append([rng.choice(CONLL_TAGS) for _ in range(n)])
        pred.append([g if rng.random() < 0.6 else rng.choice(CONLL_TAGS) for g in gold[-1]])
    m = word_metrics(gold, pred)
    assert m["f1"] == pytest.approx(f1_score(gold, pred), abs=1e-6)
    assert m["precision"] == pytest.approx(precision_score(gold, pred), abs=1e-6)
    assert m["recall"] == pytest.approx(recall_score(gold, pred), abs=1e-6)
    # the per-sentence counts of the predictions file sum to the same F1
    tp, fp, fn = (sum(c) for c in zip(*map(entity_counts, gold, pred), strict=True))
    assert 2 * tp / (2 * tp + fp + fn) == pytest.approx(f1_score(gold, pred), abs=1e-9)
    assert entities(["I-PER", "I-PER", "B-PER", "I-LOC"]) == {
        ("PER", 0, 2),
        ("PER", 2, 3),
        ("LOC", 3, 4),
    }


def test_label_order_and_options():
    t = task()
    assert t.label_names([["B-PER", "O"], ["B-ORG", "I-ORG"]], None) == [
        "O",
        "B-ORG",
        "I-ORG",
        "B-PER",
        "I-PER",
    ]
    assert t.label_names([["B-PER"]], CONLL_TAGS) == CONLL_TAGS
    with pytest.raises(ConfigError, match="task.scheme"):
        task(scheme="bilou")
    with pytest.raises(DataError, match="lists of words"):
        t.check_items(["a whole sentence"], "the train split")


# -- validation: file and line --------------------------------------------------------------------
def test_malformed_and_unknown_tags_in_conll_files_name_file_and_line(tmp_path):
    train = write_conll(tmp_path / "train.txt", sentences(8, seed=0))
    bad = [(["EU", "rejects", "German", "lamb"], ["B-ORG", "O", "I-MISC", "O"])]
    test = write_conll(tmp_path / "test.txt", bad)
    args = ("data=conll_files", f"data.source.train={train}", f"data.source.test={test}")
    # IOB2-strict: I-MISC after O is an error at line 5 (-DOCSTART-, blank, EU, rejects, German)
    with pytest.raises(DataError) as err:
        datamodule(tmp_path, *args, "task.strict=true")
    assert str(err.value).startswith(f"{test}:5: tag 'I-MISC' after 'O'")
    # not strict: read as conlleval reads it
    assert datamodule(tmp_path, *args).label_names[0] == "O"

    unknown = write_conll(tmp_path / "unknown.txt", [(["EU", "rejects"], ["B-ORG", "B-PERSON"])])
    with pytest.raises(DataError) as err:
        datamodule(
            tmp_path,
            "data=conll_files",
            f"data.source.train={train}",
            f"data.source.test={unknown}",
        )
    assert str(err.value).startswith(f"{unknown}:4: tag 'B-PERSON' is not in the label set")

    malformed = write_conll(tmp_path / "malformed.txt", [(["EU", "rejects"], ["ORG", "O"])])
    with pytest.raises(DataError) as err:
        datamodule(
            tmp_path,
            "data=conll_files",
            f"data.source.train={train}",
            f"data.source.test={malformed}",
        )
    assert str(err.value).startswith(f"{malformed}:3: tag 'ORG' is not O, B-<type> or I-<type>")

    (tmp_path / "short.txt").write_text("EU B-ORG\nrejects\n")
    with pytest.raises(DataError, match=r"short.txt:2: expected a word and its tag"):
        datamodule(
            tmp_path,
            "data=conll_files",
            f"data.source.train={train}",
            f"data.source.test={tmp_path / 'short.txt'}",
        )


def test_jsonl_and_parquet_list_columns(tmp_path):
    import pandas as pd

    data = sentences(12, seed=1)
    train = write_jsonl(tmp_path / "train.jsonl", data)
    bad = [*data[:2], (["EU", "rejects", "German"], ["B-ORG", "O", "I-MISC"])]
    test = write_jsonl(tmp_path / "test.jsonl", bad)
    args = (
        "data=csv",
        "task=token_classification",
        f"data.source.train={train}",
        "data.source.text_column=tokens",
        "data.source.label_column=ner_tags",
    )
    with pytest.raises(DataError) as err:
        datamodule(tmp_path, *args, f"data.source.test={test}", "task.strict=true")
    assert str(err.value).startswith(f"{test}:3 (word 3): tag 'I-MISC' after 'O'")

    parquet = tmp_path / "test.parquet"
    pd.DataFrame({"tokens": [w for w, _ in bad], "ner_tags": [t for _, t in bad]}).to_parquet(
        parquet
    )
    with pytest.raises(DataError) as err:
        datamodule(tmp_path, *args, f"data.source.test={parquet}", "task.strict=true")
    assert str(err.value).startswith(f"{parquet}, example 2, word 3: tag 'I-MISC'")

    pd.DataFrame({"tokens": [w for w, _ in data], "ner_tags": [t for _, t in data]}).to_parquet(
        parquet
    )
    dm = datamodule(tmp_path, *args, f"data.source.test={parquet}", "task.strict=true")
    assert dm.task.word_level and dm.label_names[0] == "O" and len(dm.datasets["test"]) == 12
    batch = dm.collate([dm.datasets["test"][i] for i in range(3)])
    assert "word_ids" in batch and batch["labels"].shape[0] == 3

    (tmp_path / "uneven.jsonl").write_text(
        json.dumps({"tokens": ["EU", "rejects"], "ner_tags": ["B-ORG"]}) + "\n"
    )
    with pytest.raises(DataError, match=r"uneven.jsonl:1: 2 words but 1 tags"):
        datamodule(tmp_path, *args, f"data.source.test={tmp_path / 'uneven.jsonl'}")


def test_hf_source_with_the_conll2003_columns_and_splits(tmp_path):
    """data=conll2003 against a local copy with the hub data set's features and split names."""
    folder = write_conll2003_parquet(
        tmp_path / "conll2003", {"train": 10, "validation": 4, "test": 5}
    )
    cfg = compose(tmp_path, "data=conll2003")
    assert cfg.task.name == "token_classification" and cfg.monitor.metric == "val/f1"
    assert (cfg.data.source.text_column, cfg.data.source.label_column) == ("tokens", "ner_tags")
    assert cfg.data.source.val_split == "validation"
    dm = datamodule(
        tmp_path, "data=conll2003", f"data.source.path={folder}", "data.source.revision=null"
    )
    assert dm.label_names == CONLL_TAGS  # the data set's own order
    assert dm.sizes() == {"n_train": 10, "n_val": 4, "n_test": 5}


# -- end to end -----------------------------------------------------------------------------------
def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


@pytest.mark.slow
def test_cli_train_eval_predict_on_conll_files(tmp_path):
    from seqeval.metrics import f1_score

    from tests.helpers.records import REQUIRED

    train = write_conll(tmp_path / "train.txt", sentences(48, seed=2))
    test = write_conll(tmp_path / "test.txt", sentences(12, seed=3))
    common = ("trainer.accelerator=cpu", "trainer.enable_progress_bar=false", "logger=csv")
    proc = run_cli(
        str(ROOT / "train.py"),
        "data=conll_files",
        f"data.source.train={train}",
        f"data.source.test={test}",
        "data.batch_size=8",
        "data.cache_dir=null",
        "model=tiny_bert",
        "optim.lr=5e-3",
        "trainer.max_epochs=1",
        "callbacks.progress_bar=null",
        f"hydra.run.dir={tmp_path / 'run'}",
        *common,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "results.json").read_text())
    assert record["status"] == "completed" and record["data"]["task"] == "token_classification"
    for section, keys in REQUIRED.items():
        node = record[section] if section else record
        missing = [k for k in keys if node[k] is None and k != "run_id"]  # run_id: W&B's
        assert not missing, (section, missing)
    assert record["monitor"]["metric"] == "val/f1"
    assert set(record["metrics"]["test"]) == {"f1", "precision", "recall", "acc", "loss"}

    # hand computation from the word-level predictions file
    rows = list(csv.DictReader((tmp_path / "run" / record["paths"]["predictions"]).open()))
    assert list(rows[0]) == ["index", "label", "pred", "tp", "fp", "fn"] and len(rows) == 12
    gold = [r["label"].split() for r in rows]
    pred = [r["pred"].split() for r in rows]
    expected = [t for _, t in sentences(12, seed=3)]
    assert gold == expected and all(len(p) == len(g) for p, g in zip(pred, gold, strict=True))
    counts = [entity_counts(g, p) for g, p in zip(gold, pred, strict=True)]
    assert counts == [(int(r["tp"]), int(r["fp"]), int(r["fn"])) for r in rows]
    tp, fp, fn = (sum(c) for c in zip(*counts, strict=True))
    test_metrics = record["metrics"]["test"]
    assert test_metrics["f1"] == pytest.approx(f1(tp, fp, fn), abs=1e-6)
    assert test_metrics["f1"] == pytest.approx(f1_score(gold, pred), abs=1e-6)
    assert test_metrics["precision"] == pytest.approx(tp / (tp + fp) if tp + fp else 0, abs=1e-6)
    assert test_metrics["recall"] == pytest.approx(tp / (tp + fn), abs=1e-6)
    words = [(x, y) for g, p in zip(gold, pred, strict=True) for x, y in zip(g, p, strict=True)]
    assert test_metrics["acc"] == pytest.approx(sum(x == y for x, y in words) / len(words))

    # eval.py on the checkpoint: the same test metrics and predictions
    proc = run_cli(
        str(ROOT / "eval.py"),
        f"ckpt_path={record['paths']['best_ckpt']}",
        f"hydra.run.dir={tmp_path / 'eval'}",
        *common,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    evaluated = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert evaluated["metrics"]["test"] == pytest.approx(test_metrics)
    assert (tmp_path / "eval" / "test_predictions.csv").read_text() == (
        tmp_path / "run" / "test_predictions.csv"
    ).read_text()

    # bakeoff-predict: word-level tags of a whitespace-split text
    out = tmp_path / "pred.csv"
    proc = run_cli(
        "-m",
        "bakeoff.app.cli",
        "predict",
        f"ckpt_path={record['paths']['best_ckpt']}",
        "input=Angela Merkel visited Saarbruecken on Monday",
        f"output={out}",
        f"paths.log_dir={tmp_path}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (row,) = list(csv.DictReader(out.open()))
    assert row["input"] == "Angela Merkel visited Saarbruecken on Monday"
    tags = row["pred"].split()
    assert len(tags) == 6 and set(tags) <= set(record["data"]["label_names"])
    assert set(row) == {"id", "input", "pred"}

    # one sentence per line from a .txt file; a table's `text` column without input_column=
    lines = tmp_path / "new.txt"
    lines.write_text("Angela Merkel visited Saarbruecken\nOn Monday\n")
    table = tmp_path / "new.csv"
    table.write_text("id,text\n1,Angela Merkel visited Saarbruecken\n2,On Monday\n")
    for source in (lines, table):
        proc = run_cli(
            "-m",
            "bakeoff.app.cli",
            "predict",
            f"ckpt_path={record['paths']['best_ckpt']}",
            f"input={source}",
            f"output={out}",
            f"paths.log_dir={tmp_path}",
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        rows = list(csv.DictReader(out.open()))
        assert [len(r["pred"].split()) for r in rows] == [4, 2], source


def test_predict_rows_of_unlabeled_words(tmp_path, tokenizer):
    """Placeholders are one per word: a long input keeps one tag per word (cut-off words O)."""
    train = write_conll(tmp_path / "train.txt", sentences(8, seed=0))
    dm = datamodule(
        tmp_path,
        "data=conll_files",
        f"data.source.train={train}",
        f"data.source.test={train}",
        "data.max_length=8",
    )
    items = [["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."], ["Hi"]]
    loader = dm.predict_loader(items)
    t, names = dm.task, dm.label_names
    gathered = []
    for batch in loader:
        logits = torch.zeros(*batch["input_ids"].shape, len(names))
        logits[..., names.index("B-MISC")] = 1.0
        gathered.append(t.gather(logits, batch))
    rows = t.rows(gathered, names, labeled=False)
    assert [list(r) for r in rows] == [["index", "pred"], ["index", "pred"]]
    assert rows[0]["pred"] == ["B-MISC"] * 6 + ["O"] * 3  # 6 words fit in 8 tokens
    assert rows[1]["pred"] == ["B-MISC"]


def test_raw_split_locates_examples():
    split = RawSplit(items=[], labels=[], path="a.txt", lines=[[3, 4, 5]])
    assert split.locate(0, 2) == "a.txt:5" and split.locate(0) == "a.txt:3"
    assert RawSplit([], [], "b.jsonl", [7]).locate(0, 1) == "b.jsonl:7 (word 2)"
    assert RawSplit([], [], "ds[train]").locate(4, 0) == "ds[train], example 4, word 1"
