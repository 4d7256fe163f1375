"""Memory: the plain loop and bakeoff on the default workload, each in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from bakeoff.bench.measure import autocast, padded_fraction
from bakeoff.bench.model import LR, WEIGHT_DECAY, MeanPoolClassifier, build_encoder
from bakeoff.bench.options import ROOT, bench_command, child_env, set_threads
from bakeoff.bench.workloads import as_dataset, default_data, examples_of, pad_collate

# Eval batches per split in the memory runs: eval goes longest first (in both), so the first
# batches are the widest, where an eval pass peaks; the rest would only add minutes.
EVAL_BATCHES = 2


def memory_plain(opts) -> None:
    """Subprocess mode: the plain loop on the default workload; prints its figures as JSON.

    bakeoff's data (all reviews, max length 256) and its length-grouped batches of the run seed
    (the batches `train.py` trains on), the first `--memory-batches` of them, AdamW in train
    mode; then inference over the widest `EVAL_BATCHES` of val and of test. Peak RSS is read by
    the parent (wait4).
    """
    from torch.utils.data import DataLoader

    from bakeoff.data.text import length_grouped_batches

    set_threads(opts.threads)
    tmp = Path(opts.memory_plain)
    cfg, dm = default_data(tmp / "tokens", tmp / "plain")
    train = examples_of(dm.datasets["train"])
    lengths = dm.datasets["train"].lengths
    batches = list(length_grouped_batches(lengths, dm.batch_size, seed=cfg.seed))
    batches = batches[: opts.memory_batches]
    model = MeanPoolClassifier(build_encoder("minilm", cfg.seed), dm.num_classes)
    model = model.to(opts.device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY, fused=True)
    collate = partial(pad_collate, pad_id=dm.pad_id)
    for batch in DataLoader(as_dataset(train), batch_sampler=batches, collate_fn=collate):
        batch = {k: v.to(opts.device) for k, v in batch.items()}
        labels = batch.pop("labels")
        with autocast(opts):
            loss = F.cross_entropy(model(**batch).float(), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    model.eval()
    size = dm.eval_batch_size
    with torch.inference_mode(), autocast(opts):
        for split in ("val", "test"):
            examples = sorted(examples_of(dm.datasets[split]), key=lambda e: -len(e["input_ids"]))
            for i in range(0, min(len(examples), EVAL_BATCHES * size), size):
                batch = collate(examples[i : i + size])
                batch.pop("labels")
                model(**{k: v.to(opts.device) for k, v in batch.items()}).argmax(-1).cpu()
    print(json.dumps({"padded_fraction": padded_fraction(batches, lengths), "steps": len(batches)}))


def through_widest_batch(tmp: Path) -> int:
    """How many of the run's length-grouped training batches come up to and with the first of
    the widest: the step where training memory peaks (default data, run seed)."""
    from bakeoff.data.text import length_grouped_batches

    cfg, dm = default_data(tmp / "tokens", tmp / "widths")
    lengths = np.asarray(dm.datasets["train"].lengths)
    widths = [
        int(lengths[b].max()) for b in length_grouped_batches(lengths, dm.batch_size, cfg.seed)
    ]
    return widths.index(max(widths)) + 1


# Starts the measured process from a fresh, small one. A child's peak RSS (rusage maxrss) keeps
# the high-water mark of the memory it was forked with, even across exec: forked from this
# process (gigabytes by then), every child would report at least this process's size.
RSS_LAUNCHER = (
    "import json, os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execv(sys.argv[2], sys.argv[2:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "json.dump({'maxrss_kb': usage.ru_maxrss, 'rc': os.waitstatus_to_exitcode(status)},"
    " open(sys.argv[1], 'w'))\n"
)


def run_measuring_rss(argv: list[str], logs: Path) -> tuple[subprocess.CompletedProcess, float]:
    """Run a process to its end: (its result, its own peak RSS in MB as the kernel counts it,
    what `/usr/bin/time -v` reports). Output goes to files under `logs`."""
    logs.mkdir(parents=True, exist_ok=True)
    usage = logs / "rusage.json"
    usage.unlink(missing_ok=True)
    out_path, err_path = logs / "stdout.txt", logs / "stderr.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        launcher = [sys.executable, "-c", RSS_LAUNCHER, str(usage), *argv]
        subprocess.run(launcher, cwd=ROOT, env=child_env(), stdout=out, stderr=err, check=True)
    figures = json.loads(usage.read_text())
    done = subprocess.CompletedProcess(
        argv, figures["rc"], out_path.read_text(), err_path.read_text()
    )
    return done, figures["maxrss_kb"] / 1024  # Linux counts KiB


def measure_memory(opts, tmp: Path) -> dict:
    """Peak RSS of the plain loop and of `train.py` on the same batches, each in its own process."""
    mem_tmp = tmp / "memory"
    accel = "gpu" if opts.device == "cuda" else "cpu"
    n_batches = opts.memory_batches or through_widest_batch(tmp)
    argvs = {
        "plain": bench_command(
            "--memory-plain",
            str(tmp),  # its data: the default data's token cache under tmp (the probe's)
            "--memory-batches",
            str(n_batches),
            "--device",
            opts.device,
            "--threads",
            str(opts.threads),
        ),
        "bakeoff": [
            sys.executable,
            "train.py",
            "logger=csv",
            "callbacks.progress_bar=null",
            "trainer.max_epochs=1",
            f"trainer.limit_train_batches={n_batches}",
            f"trainer.limit_val_batches={EVAL_BATCHES}",
            f"trainer.limit_test_batches={EVAL_BATCHES}",
            f"trainer.accelerator={accel}",
            f"data.cache_dir={tmp / 'tokens'}",
            f"hydra.run.dir={mem_tmp / 'bakeoff'}",
        ],
    }

    out = {}
    # One after the other: side by side (2 x 2 threads on 2 cores) the section took 245 s
    # instead of 174 s, for the same peak RSS.
    for name, argv in argvs.items():
        tic = time.perf_counter()
        proc, peak_mb = run_measuring_rss(argv, mem_tmp / f"{name}-logs")
        wall = time.perf_counter() - tic
        row: dict[str, Any] = {
            "peak_rss_mb": peak_mb,
            "wall_s": wall,
            "rc": proc.returncode,
            "batches": n_batches,
        }
        try:
            if name == "plain":
                row |= json.loads(proc.stdout.strip().splitlines()[-1])
            else:
                record = json.loads((mem_tmp / "bakeoff" / "results.json").read_text())
                row["padded_fraction"] = record["data"]["padded_token_fraction"]
                row["record_peak_rss_mb"] = record["resources"]["peak_rss_mb"]
                row["startup_s"] = record["timing"]["startup_s"]
        except Exception:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            print(f"memory: '{name}' gave no figures (rc {proc.returncode}): {tail}")
        out[name] = row
        print(f"[memory] {name}: peak RSS {peak_mb:.0f} MB in {wall:.0f} s", flush=True)
    return out
