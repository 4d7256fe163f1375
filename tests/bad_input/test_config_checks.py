"""Config and CLI mistakes end in one `error: <key>: ...` line before any weights load.

Most cases compose a config in-process and call the validation pass (bakeoff.checks.validate) or the
"did you mean" rewording of Hydra's errors (bakeoff.app.suggest) on it; a few go through the real
CLI, where exit status, stderr and the files left behind are what is tested.
"""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException

from bakeoff.app.suggest import add_suggestion
from bakeoff.checks.validate import ConfigProblems, validate_config
from bakeoff.record.store import read_record
from tests.helpers.runs import ROOT, TINY, compose, run_cli

# (overrides, what the one problem's message must say): each a mistake a user can make.
MISTAKES = {
    "lr_zero": (["optim.lr=0"], ["optim.lr: 0.0 is not a learning rate", "> 0"]),
    "lr_nan": (["optim.lr=nan"], ["optim.lr: nan is not a learning rate", "finite"]),
    "head_lr_negative": (["optim.head_lr=-1e-3"], ["optim.head_lr: -0.001 is not a learning"]),
    "head_lr_shadowed_by_the_probe": (
        ["finetune=linear_probe", "optim.head_lr=3e-3"],
        ["optim.head_lr: ignored under finetune=linear_probe", "finetune.head_lr=0.01"],
    ),
    "weight_decay_negative": (["optim.weight_decay=-1"], ["optim.weight_decay: -1.0 is not"]),
    "batch_size_zero": (["data.batch_size=0"], ["data.batch_size: 0 is not a batch size", ">= 1"]),
    "eval_batch_size_zero": (["data.eval_batch_size=0"], ["data.eval_batch_size: 0 is not"]),
    "limit_train_zero": (["data.limit_train=0"], ["data.limit_train: 0 is not a number of"]),
    "val_fraction_above_one": (["data.val_fraction=1.5"], ["data.val_fraction: 1.5", "(0, 1)"]),
    "one_fold": (["data.folds=1", "data.fold=0"], ["data.folds: 1 is not a number of folds"]),
    "fold_out_of_range": (["data.folds=3", "data.fold=3"], ["data.fold: 3", "0..2"]),
    "fold_without_folds": (["data.fold=2"], ["data.fold: 2 is set but data.folds is not"]),
    "max_epochs_forever": (
        ["trainer.max_epochs=-1"],
        ["trainer.max_epochs: -1", "number of steps unknown", "trainer.max_steps=N"],
    ),
    "max_epochs_zero": (["trainer.max_epochs=0"], ["trainer.max_epochs: 0 trains nothing"]),
    "max_steps_zero": (["trainer.max_steps=0"], ["trainer.max_steps: 0 trains nothing"]),
    "min_above_max_epochs": (["trainer.min_epochs=3"], ["trainer.min_epochs: 3 is more than"]),
    "never_validates": (
        ["trainer.check_val_every_n_epoch=3"],
        ["trainer.check_val_every_n_epoch: 3 never validates", "val/f1_macro"],
    ),
    "no_train_batches": (
        ["trainer.limit_train_batches=0"],
        ["trainer.limit_train_batches: 0 trains on no batches"],
    ),
    "accumulate_zero": (["trainer.accumulate_grad_batches=0"], ["accumulate_grad_batches: 0"]),
    "unknown_schedule": (
        ["scheduler.name=step"],
        ["scheduler.name: 'step' is not a schedule", "constant, linear_warmup, cosine"],
    ),
    "warmup_whole_run": (["scheduler.warmup_ratio=1.0"], ["scheduler.warmup_ratio: 1.0", "[0, 1)"]),
    "gradual_without_milestones": (
        ["finetune=gradual", "finetune.milestones=[]"],
        ["finetune.milestones: empty (list at least one epoch"],
    ),
    "negative_unfreeze_epoch": (
        ["finetune=freeze_unfreeze", "finetune.unfreeze_at_epoch=-1"],
        ["finetune.unfreeze_at_epoch: -1 is not an epoch"],
    ),
    "layer_decay_zero": (["finetune.layer_decay=0"], ["finetune.layer_decay: 0.0", "(0, 1]"]),
    "probe_head_lr_zero": (
        ["finetune=linear_probe", "finetune.head_lr=0"],
        ["finetune.head_lr: 0.0 is not a learning rate"],
    ),
    "monitor_unknown": (
        ["monitor.metric=val/nosuch"],
        ["monitor.metric: 'val/nosuch' is not logged by task classification", "val/acc, "],
    ),
    "monitor_misspelled": (
        ["monitor.metric=val/f1_macor"],
        ["did you mean val/f1_macro?", "choose from val/acc, val/f1_macro"],
    ),
    "monitor_loss_maximised": (
        ["monitor.metric=val/loss"],
        ["monitor.mode: 'max' would select the worst checkpoint on val/loss", "monitor.mode=min"],
    ),
    "monitor_mode_typo": (["monitor.mode=maximum"], ["monitor.mode: 'maximum'", "min, max"]),
    "metric_the_task_lacks": (
        ["task.metrics=[acc,pearson]"],
        ["task.metrics: ['pearson'] not available for task 'classification'"],
    ),
    "threshold_one": (
        ["data=digits", "model=mobilenetv2", "task=multilabel", "task.threshold=1"],
        ["task.threshold must be in (0, 1), got 1.0"],
    ),
    "text_model_on_images": (
        ["model=tiny_bert", "data=digits"],
        ["model: tiny_bert is a text model, but data=digits holds image data", "model=mobilenetv2"],
    ),
    "image_model_on_text": (
        ["model=mobilenetv2"],
        [
            "model: mobilenetv2 is an image model, but data=amazon_reviews holds text",
            "model=minilm",
        ],
    ),
    "max_length_beyond_positions": (
        ["model=tiny_bert", "data.max_length=600"],
        ["data.max_length: 600 is more than model=tiny_bert supports (514 tokens", "<=514"],
    ),
    "max_length_beyond_roberta_positions": (
        ["model=tiny_roberta", "data.max_length=514"],
        ["model=tiny_roberta supports (513 tokens", "data.max_length<=513"],
    ),
    "max_length_of_the_packaged_minilm": (["data.max_length=1024"], ["minilm supports (512"]),
    "appended_key_not_in_schema": (
        ["+trainer.max_epoch=1"],
        ["trainer.max_epoch: not a key of trainer (did you mean trainer.max_epochs?)"],
    ),
    "missing_hub_name": (["data=hf"], ["data.source.path: no value given (set data.source.path"]),
    "missing_data_file": (
        ["data=csv"],
        ["data.source.train: no value given (set data.source.train=...)"],
    ),
}


@pytest.mark.parametrize(("overrides", "needles"), MISTAKES.values(), ids=MISTAKES.keys())
def test_each_mistake_is_one_problem_naming_its_key(tmp_path, overrides, needles):
    cfg = compose(tmp_path, *overrides)
    with pytest.raises(ConfigProblems) as err:
        validate_config(cfg)
    problems = err.value.problems
    if overrides == ["data=csv"]:  # no train file and no test file: both are named
        assert problems[0] == "data.source.test: no value given (set data.source.test=...)"
        problems = problems[1:]
    assert len(problems) == 1, problems
    for needle in needles:
        assert needle in problems[0], problems


def test_every_problem_is_reported_at_once(tmp_path):
    cfg = compose(tmp_path, "optim.lr=0", "data.batch_size=0", "monitor.metric=val/nosuch")
    with pytest.raises(ConfigProblems) as err:
        validate_config(cfg)
    keys = [p.split(":")[0] for p in err.value.problems]
    assert keys == ["optim.lr", "data.batch_size", "monitor.metric"]
    # printed by the entry point as `error: <message>`: one `error:` line per problem
    assert f"error: {err.value}".count("\nerror: ") == 2


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["model=tiny_bert", "data=trump_tweets"],
        ["trainer.limit_val_batches=0", "test=false"],  # no validation, on purpose
        ["model=mobilenetv2", "data=digits", "finetune=linear_probe"],
        ["finetune=linear_probe", "optim.head_lr=3e-3", "finetune.head_lr=3e-3"],
        ["data=glue_mnli", "model=tiny_roberta"],
        ["finetune=gradual", "trainer.max_epochs=3", "scheduler=cosine"],
        ["trainer.max_epochs=-1", "trainer.max_steps=10"],
        ["experiment=smoke"],
    ],
    ids=lambda o: " ".join(o) or "default",
)
def test_sound_configs_pass(tmp_path, overrides):
    validate_config(compose(tmp_path, *overrides))


@pytest.mark.parametrize(
    ("overrides", "warning"),
    [
        (
            ["finetune=gradual", "finetune.milestones=[1,5]", "trainer.max_epochs=3"],
            "finetune.milestones: epoch 5 is never reached in a run of trainer.max_epochs=3 "
            "(epochs 0..2): the layers it unfreezes will not train in this run (set "
            "trainer.max_epochs>=6, or milestones below 3)",
        ),
        (
            ["finetune=freeze_unfreeze", "finetune.unfreeze_at_epoch=2"],
            "finetune.unfreeze_at_epoch: epoch 2 is never reached in a run of "
            "trainer.max_epochs=2 (epochs 0..1): the backbone it unfreezes will not train",
        ),
    ],
    ids=["gradual", "freeze_unfreeze"],
)
def test_unfreeze_epoch_beyond_the_run_is_a_warning(tmp_path, caplog, overrides, warning):
    """Not an error: a run may stop before it unfreezes on purpose, to be resumed with more
    epochs; but never without a word."""
    validate_config(compose(tmp_path, *overrides))
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and warned[0].startswith(warning), warned


def test_a_model_without_backbone_skips_the_training_checks(tmp_path):
    """A scikit-learn baseline (model.estimator, backbone null) has no epochs, steps or schedule;
    its data is still checked."""
    cfg = compose(tmp_path, "trainer.max_epochs=-1", "monitor.metric=val/nosuch")
    cfg.model.backbone = None
    validate_config(cfg)
    cfg.data.batch_size = 0
    with pytest.raises(ConfigProblems, match="data.batch_size: 0 is not a batch size"):
        validate_config(cfg)


# -- "did you mean" in Hydra's own errors ---------------------------------------------------------
TYPOS = {
    "trainer.max_epoch=3": "Did you mean trainer.max_epochs=3?",
    "sed=1": "Did you mean seed=1?",
    "traner.max_epochs=3": "Did you mean trainer.max_epochs=3?",
    "data.batch_sise=8": "Did you mean data.batch_size=8?",
    "data.source.text_colum=review": "Did you mean data.source.text_column=review?",
    "model=tiny_bret": "Did you mean model=tiny_bert?",
    "finetune=gradul": "Did you mean finetune=gradual?",
    "trainer.foo=1": "TrainerConfig has the keys: _target_, accelerator",
}


@pytest.mark.parametrize(("override", "advice"), TYPOS.items(), ids=TYPOS.keys())
def test_misspelled_key_or_option_gets_a_suggestion(tmp_path, override, advice):
    with pytest.raises(ConfigCompositionException) as err:
        compose(tmp_path, override)
    original = str(err.value)
    assert add_suggestion(err.value)
    message = str(err.value)
    assert advice in message
    assert "To append to your config" not in message  # `+key=` would only fail later
    assert message.splitlines()[0] == original.splitlines()[0]  # Hydra's own line stays


def test_a_name_like_no_option_keeps_hydras_message(tmp_path):
    with pytest.raises(ConfigCompositionException) as err:
        compose(tmp_path, "model=zzzz")
    original = str(err.value)
    assert not add_suggestion(err.value) and str(err.value) == original
    assert "Available options in 'model'" in original


# -- the train path: validation before anything loads ---------------------------------------------
def test_run_fails_before_the_backbone_is_built(tiny_cfg, tmp_path, monkeypatch):
    from bakeoff.models.hf_backbone import HFBackbone
    from bakeoff.runs.train import run

    built = []
    monkeypatch.setattr(HFBackbone, "__init__", lambda self, **kw: built.append(kw))
    cfg = tiny_cfg("logger=csv", "monitor.metric=val/nosuch")
    with pytest.raises(ConfigProblems, match="monitor.metric: 'val/nosuch' is not logged"):
        run(cfg)
    assert built == []
    record = read_record(tmp_path / "run")  # a sweep lists the job as failed, with the reason
    assert record["status"] == "failed" and record["error"].startswith(
        "ConfigProblems: monitor.metric:"
    )
    assert record["traceback"] is None and record["model"]["params_total"] is None
    assert not (tmp_path / "run" / "checkpoints").exists()


# -- the real CLI -------------------------------------------------------------------------------------
def snapshot(paths):
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}


def test_cli_typos_suggest_the_key_and_the_option(tmp_path):
    for args, advice in [
        (["trainer.max_epoch=1"], "Did you mean trainer.max_epochs=1?"),
        (["model=tiny_bret"], "Did you mean model=tiny_bert?"),
    ]:
        proc = run_cli(str(ROOT / "train.py"), *args, f"paths.log_dir={tmp_path}", cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        assert advice in proc.stderr and "Traceback" not in proc.stderr
        assert "+trainer.max_epoch" not in proc.stderr
    assert not list(tmp_path.iterdir())  # rejected while composing: not even a run dir


@pytest.mark.slow
def test_cli_lists_every_problem_before_weights_load_and_leaves_user_files(tmp_path):
    rows = "".join(f"tea {i} was {'good' if i % 2 else 'bad'},{i % 2}\n" for i in range(12))
    user_files = [tmp_path / "train.csv", tmp_path / "test.csv"]
    for path in user_files:
        path.write_text("text,label\n" + rows)
    before = snapshot(user_files)
    proc = run_cli(
        str(ROOT / "train.py"),
        "data=csv",
        f"data.source.train={user_files[0]}",
        f"data.source.test={user_files[1]}",
        "model=minilm",  # packaged weights: loading them would print "Loading weights"
        "monitor.metric=val/nosuch",
        "optim.lr=0",
        "logger=csv",
        "name=bad",
        f"paths.log_dir={tmp_path / 'logs'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: optim.lr: 0.0 is not a learning rate (a finite number > 0, e.g. 5e-5)",
        "error: monitor.metric: 'val/nosuch' is not logged by task classification (choose "
        "from val/acc, val/f1_macro, val/precision_macro, val/recall_macro, val/loss)",
    ]
    assert "Traceback" not in proc.stderr
    assert "Loading weights" not in proc.stdout + proc.stderr
    assert snapshot(user_files) == before
    run_dir = tmp_path / "logs" / "runs" / "bad"
    assert not (run_dir / "checkpoints").exists() and not (tmp_path / ".data").exists()
    record = read_record(run_dir)  # failed before the data was read or the model built
    assert record["status"] == "failed" and record["error"].startswith(
        "ConfigProblems: optim.lr: 0.0"
    )
    assert record["data"]["n_train"] is None and record["model"]["params_total"] is None


def test_cli_appended_key_and_endless_epochs_fail_before_training(tmp_path):
    proc = run_cli(
        str(ROOT / "train.py"),
        *TINY,
        "+trainer.max_epoch=1",
        "trainer.max_epochs=-1",
        "logger=csv",
        "name=bad",
        f"paths.log_dir={tmp_path}",
        cwd=tmp_path,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "error: trainer.max_epoch: not a key of trainer (did you mean trainer.max_epochs?)" in (
        proc.stderr
    )
    assert "error: trainer.max_epochs: -1 (no epoch limit) leaves the number of steps" in (
        proc.stderr
    )
    assert not (tmp_path / "runs" / "bad" / "checkpoints").exists()


# -- dry_run=true ------------------------------------------------------------------------------------
def test_dry_run_measures_what_a_run_would_train(tiny_cfg, capsys):
    from bakeoff.runs.dry_run import dry_run
    from bakeoff.utils.build import build

    facts = dry_run(tiny_cfg("finetune=linear_probe", "data.max_length=32"))
    out = capsys.readouterr().out
    assert facts["sizes"] == {"train": 64, "val": 32, "test": 48}
    assert "data amazon_reviews: train 64, val 32, test 48 examples; 2 labels" in out
    backbone = build(tiny_cfg().model.backbone)
    head = 64 * 2 + 2  # hidden size 64 -> 2 classes
    total = sum(p.numel() for p in backbone.parameters()) + head
    assert facts["params_total"] == total
    assert facts["params_trainable_first_epoch"] == head  # linear probe: the head alone
    short = f"{total / 1e6:.3g}M"  # about 2M: rounded for reading after the exact count
    assert (
        f"model tiny_bert: {total:,} params ({short}), 130 trainable in the first epoch (130)"
        in (out)
    )
    assert f"forward FLOPs per example: {facts['flops_per_sample']:.4g} (" in out
    assert "max_length: 32" in out  # the resolved config comes first
    # FLOPs are counted on real batches: cutting the texts to 8 tokens costs less per example
    shorter = dry_run(tiny_cfg("finetune=linear_probe", "data.max_length=8"))
    assert 0 < shorter["flops_per_sample"] < facts["flops_per_sample"]


@pytest.mark.slow
def test_cli_dry_run_sweep_prints_sizes_and_exits_without_training(tmp_path):
    proc = run_cli(
        str(ROOT / "train.py"),
        "-m",
        *TINY,
        "model=tiny_bert,tiny_roberta",
        "dry_run=true",
        "logger=csv",
        "name=dry",
        f"paths.log_dir={tmp_path}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert out.count("dry run: nothing trained, no checkpoint or results.json written") == 2
    assert out.count("data amazon_reviews: train 64, val 32, test 48 examples; 2 labels") == 2
    assert "model tiny_bert: " in out and "model tiny_roberta: " in out
    assert out.count("dry_run: true") == 2  # each job's resolved config
    sweep = tmp_path / "multiruns" / "dry"
    # A dry run writes nothing: the job dirs Hydra made for it are removed again.
    assert not sweep.exists() or not [p.name for p in sweep.iterdir() if p.is_dir()]
    assert not list(sweep.rglob("*.ckpt")) and not list(sweep.rglob("results.json"))
    assert not (sweep / "comparison").exists() and not list(sweep.rglob("metrics.csv"))
