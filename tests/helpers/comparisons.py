"""Run dirs written by hand (records and predictions files): the comparison's input in tests."""

from __future__ import annotations

import json
from pathlib import Path

N_TEST = 200


LABELS = ["neg", "pos"] * (N_TEST // 2)


def predictions(n_correct: int) -> list[str]:
    """Predictions that are right on the first n_correct test examples and wrong on the rest."""
    flip = {"neg": "pos", "pos": "neg"}
    return [label if i < n_correct else flip[label] for i, label in enumerate(LABELS)]


def write_run(
    root: Path,
    job: str,
    overrides: list[str],
    val: dict | None = None,
    test: dict | None = None,
    status: str = "completed",
    error: str | None = None,
    preds: list[str] | None = None,
    dataset: str = "amazon_reviews",
    params: int = 1000,
    fit_s: float = 10.0,
    history: list[dict] | None = None,
) -> Path:
    """A job dir like the training side writes: .hydra/overrides.yaml, results.json, predictions."""
    run_dir = root / job
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    seed = next((int(o.split("=")[1]) for o in overrides if o.startswith("seed=")), None)
    model = next((o.split("=")[1] for o in overrides if o.startswith("model=")), "minilm")
    if preds is not None:
        rows = ["index,label,pred,prob_neg,prob_pos"]
        rows += [
            f"{i},{y},{p},{0.9 if p == 'neg' else 0.1},{0.1 if p == 'neg' else 0.9}"
            for i, (y, p) in enumerate(zip(LABELS, preds, strict=True))
        ]
        (run_dir / "test_predictions.csv").write_text("\n".join(rows) + "\n")
    record = {
        "status": status,
        "error": error,
        "run_id": job,
        "name": ",".join(overrides),
        "group": root.name,
        "seed": seed,
        "fold": None,
        "overrides": overrides,
        "model": {
            "name": model,
            "source": "hf",
            "params_total": params,
            "params_trainable": params // 2,
            "flops_per_sample": 2.0e6,
        },
        "data": {"name": dataset, "task": "text_classification", "num_classes": 2},
        "monitor": {"metric": "val/f1_macro", "mode": "max", "best": None, "best_epoch": 0},
        "metrics": {"val": val or {}, "test": test or {}} if status == "completed" else {},
        "timing": {"fit_s": fit_s, "test_s": 1.0, "train_samples_per_s": 50.0},
        "resources": {"device": "cpu", "peak_rss_mb": 1500.0, "peak_gpu_mem_mb": None},
        "paths": {"run_dir": str(run_dir), "predictions": "test_predictions.csv"},
        "config": {"seed": seed, "finetune": {"name": "full"}},
        "history": history or [],
    }
    (run_dir / "results.json").write_text(json.dumps(record))
    return run_dir


def metrics(f1: float, acc: float | None = None) -> dict:
    acc = f1 if acc is None else acc
    return {"acc": acc, "f1_macro": f1, "precision_macro": f1, "recall_macro": f1, "loss": 1 - f1}


def write_sweep(tmp_path: Path) -> Path:
    """model=a best on val, model=b best on test, model=c identical predictions to a,
    model=d failed everywhere, model=e still running, model=a one failed seed as well."""
    root = tmp_path / "sweep"
    job = iter(range(100))
    for seed, (va, ta) in enumerate([(0.80, 0.70), (0.82, 0.72), (0.84, 0.74)], start=1):
        history = [{"epoch": 0, "val/f1_macro": va - 0.1}, {"epoch": 1, "val/f1_macro": va}]
        write_run(
            root,
            str(next(job)),
            ["model=a", f"seed={seed}"],
            metrics(va),
            metrics(ta),
            preds=predictions(180),
            history=history,
        )
    write_run(root, str(next(job)), ["model=a", "seed=4"], status="failed", error="CUDA OOM")
    for seed, (vb, tb) in enumerate([(0.70, 0.90), (0.71, 0.91), (0.72, 0.92)], start=1):
        write_run(
            root,
            str(next(job)),
            ["model=b", f"seed={seed}"],
            metrics(vb),
            metrics(tb),
            preds=predictions(100),
            params=5000,
            fit_s=30.0,
        )
    write_run(
        root,
        str(next(job)),
        ["model=c", "seed=1"],
        metrics(0.60),
        metrics(0.70),
        preds=predictions(180),
    )
    write_run(
        root,
        str(next(job)),
        ["model=d", "seed=1"],
        status="failed",
        error="model not available offline\nmore traceback",
    )
    running = root / str(next(job)) / ".hydra"
    running.mkdir(parents=True)
    (running / "overrides.yaml").write_text("- model=e\n- seed=1\n")
    return root


def row(comparison, config: str):
    table = comparison.table
    return table[table["config"] == config].iloc[0]
