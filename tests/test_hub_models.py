"""The hub path, offline, for real (issue 24, item 8): the model configs' own hub ids load through
`from_pretrained` from a Hugging Face hub cache laid out by tests/hub_fixture.py (tiny random
weights, real architectures and tokenizer formats), with HF_HUB_OFFLINE=1."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ONE_SMALL_EPOCH, ROOT
from tests.hub_fixture import build_hub_cache

SMALL = ["logger=csv", "trainer.enable_progress_bar=false", *ONE_SMALL_EPOCH]


@pytest.fixture(scope="session")
def hub_env(tmp_path_factory) -> dict[str, str]:
    """The environment of a process that finds the hub models in the fixture's cache only."""
    home = tmp_path_factory.mktemp("hf_home")
    hub = build_hub_cache(home)
    return {
        **os.environ,
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(hub),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONWARNINGS": "ignore",
    }


@pytest.fixture(scope="session")
def timm_hub_env(hub_env) -> dict[str, str]:
    """hub_env's cache plus timm's hub repos of the four timm configs (full-size random weights:
    timm loads a hub checkpoint into the architecture at its default size)."""
    from tests.hub_fixture import TIMM_MODELS, add_timm_models

    add_timm_models(Path(hub_env["HF_HUB_CACHE"]), TIMM_MODELS)
    return hub_env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def test_hub_cache_has_the_real_ids_and_tokenizer_formats(hub_env, tmp_path):
    code = (
        "from transformers import AutoTokenizer\n"
        "out = {}\n"
        "for name in ['bert-base-uncased', 'bert-base-cased', 'distilbert-base-uncased',\n"
        "             'roberta-base', 'microsoft/deberta-v3-base']:\n"
        "    t = AutoTokenizer.from_pretrained(name)\n"
        "    model = t.backend_tokenizer.model\n"
        "    out[name] = (type(model).__name__, t.convert_ids_to_tokens(t('Good tea', 'a box')"
        "['input_ids']))\n"
        "print(repr(out))\n"
    )
    proc = run(["-c", code], hub_env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = ast.literal_eval(proc.stdout.strip().splitlines()[-1])
    assert seen["bert-base-uncased"] == (
        "WordPiece",
        ["[CLS]", "good", "tea", "[SEP]", "a", "box", "[SEP]"],
    )
    assert seen["bert-base-cased"][1][1] == "Good"  # cased
    assert seen["distilbert-base-uncased"][0] == "WordPiece"
    kind, tokens = seen["roberta-base"]
    assert kind == "BPE" and tokens[0] == "<s>" and tokens[-1] == "</s>"
    assert tokens[tokens.index("</s>") : tokens.index("</s>") + 2] == ["</s>", "</s>"]  # pairs
    assert seen["microsoft/deberta-v3-base"][0] == "Unigram"


@pytest.mark.slow
def test_the_literal_sweep_model_bert_roberta_completes(hub_env, tmp_path):
    proc = run([str(ROOT / "train.py"), "-m", "model=bert,roberta", *SMALL], hub_env, tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in tmp_path.glob("logs/multiruns/*/*/results.json")]
    by_model = {r["model"]["name"]: r for r in records}
    assert sorted(by_model) == ["bert", "roberta"]
    for name, record in by_model.items():
        assert record["status"] == "completed", record["error"]
        assert record["model"]["source"] == "hf"
        assert (
            record["config"]["model"]["backbone"]["name_or_path"]
            == ({"bert": "bert-base-uncased", "roberta": "roberta-base"}[name])
        )
        assert record["model"]["params_total"] < 1_000_000  # the fixture's tiny stand-in
    assert "bakeoff leaderboard" in proc.stdout


@pytest.mark.slow
def test_glue_script_with_roberta_and_bert_from_the_hub_cache(hub_env, tmp_path):
    """scripts/reproduce_glue_bert_roberta.sh on RTE (pairs: RoBERTa's </s></s>) with the hub
    ids, through to the --reference table."""
    import csv

    from tests.helpers.glue import write_glue

    write_glue("rte", tmp_path / "glue")
    out = tmp_path / "out"
    args = ["--tasks", "rte", "--models", "roberta,bert", "--seeds", "1", "--lrs", "1e-3"]
    args += ["--local", str(tmp_path / "glue"), "--out", str(out)]
    args += [*SMALL, "data.cache_dir=null"]
    env = {**hub_env, "PYTHON": sys.executable}
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "reproduce_glue_bert_roberta.sh"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = {}
    for path in out.rglob("results.json"):
        record = json.loads(path.read_text())
        assert record["status"] == "completed", record.get("error")
        records[record["model"]["name"]] = record
    assert sorted(records) == ["bert", "roberta"]
    assert records["roberta"]["config"]["task"]["name"] == "pair_classification"
    with open(out / "comparison" / "reference.csv") as f:
        rows = {r["our_model"]: r for r in csv.DictReader(f) if r["dataset"] == "RTE"}
    assert sorted(rows) == ["bert", "roberta"]
    assert (
        rows["roberta"]["model"] == "roberta.base" and rows["bert"]["model"] == "BERT-base-uncased"
    )
    for name, row in rows.items():
        ours = 100 * records[name]["metrics"]["val"]["acc"]
        assert float(row["ours_mean"]) == pytest.approx(ours, abs=1e-4)
        assert float(row["delta"]) == pytest.approx(ours - float(row["paper"]), abs=1e-4)


@pytest.mark.slow
def test_one_image_run_per_timm_config_from_the_hub_cache(timm_hub_env, tmp_path):
    configs = ["resnet50", "vit_b16", "convnext_tiny", "efficientnet_b0"]
    small = ["logger=csv", "trainer.enable_progress_bar=false", "callbacks.progress_bar=null"]
    small += ["trainer.max_epochs=1", "data.limit_train=16", "data.limit_val=16"]
    small += ["data.limit_test=16", "data.batch_size=16", "data=digits", "data.image_size=32"]
    args = [str(ROOT / "train.py"), "-m", f"model={','.join(configs)}", *small]
    proc = run(args, timm_hub_env, tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in tmp_path.glob("logs/multiruns/*/*/results.json")]
    by_model = {r["model"]["name"]: r for r in records}
    assert sorted(by_model) == sorted(configs)
    for record in by_model.values():
        assert record["status"] == "completed", record["error"]
        assert record["model"]["source"] == "timm"
