"""The linear probe on cached features (issue 12), in a fresh process, against one forward pass."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bakeoff.bench.measure import autocast
from bakeoff.bench.model import build_encoder
from bakeoff.bench.options import ROOT, child_env
from bakeoff.bench.workloads import default_data, examples_of, pad_collate

PROBE_EPOCHS = 10


def forward_pass_s(dm, opts) -> tuple[float, int]:
    """One inference pass of MiniLM (mean pooled) over train + val + test, longest first in
    batches of the eval batch size: the work a probe cannot avoid."""
    encoder = build_encoder("minilm", opts.seed).to(opts.device).eval()
    collate = partial(pad_collate, pad_id=dm.pad_id)
    n, tic = 0, time.perf_counter()
    with torch.inference_mode(), autocast(opts):
        for split in ("train", "val", "test"):
            examples = sorted(examples_of(dm.datasets[split]), key=lambda e: -len(e["input_ids"]))
            for i in range(0, len(examples), dm.eval_batch_size):
                batch = collate(examples[i : i + dm.eval_batch_size])
                mask = batch["attention_mask"].to(opts.device)
                hidden = encoder(
                    input_ids=batch["input_ids"].to(opts.device), attention_mask=mask
                ).last_hidden_state
                pooled = (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
                n += len(pooled)
    if opts.device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - tic, n


def sklearn_reference(dm, feature_dir: Path) -> dict | None:
    """scikit-learn logistic regression (C=1) on the features the probe run cached: the
    protocol of Kornblith et al. (2019) on exactly the probe's inputs."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    from bakeoff.models.feature_cache import split_targets

    by_rows = {}
    for path in feature_dir.glob("*.pt"):
        features = torch.load(path, weights_only=True)
        by_rows[len(features)] = features.numpy()
    splits = {s: dm.datasets[s] for s in ("train", "test")}
    if any(len(d) not in by_rows for d in splits.values()) or len(by_rows) != 3:
        return None  # split sizes must tell the cached files apart
    x = {s: by_rows[len(d)] for s, d in splits.items()}
    y = {s: np.asarray(split_targets(d)) for s, d in splits.items()}
    pred = LogisticRegression(C=1.0, max_iter=2000).fit(x["train"], y["train"]).predict(x["test"])
    return {
        "acc": float(accuracy_score(y["test"], pred)),
        "f1_macro": float(f1_score(y["test"], pred, average="macro")),
    }


def measure_probe(opts, tmp: Path) -> dict:
    """`python train.py finetune=linear_probe trainer.max_epochs=10` (default data, MiniLM) in a
    fresh process with empty caches (tokenized and features), against one forward pass."""
    probe_tmp = tmp / "probe"
    cfg, dm = default_data(tmp / "tokens", probe_tmp / "forward")  # the memory runs read it too
    forward_s, n = forward_pass_s(dm, opts)
    print(f"[probe] forward pass over train+val+test: {n} reviews in {forward_s:.1f} s", flush=True)
    run_dir = probe_tmp / "run"
    argv = [
        sys.executable,
        "train.py",
        "finetune=linear_probe",
        f"trainer.max_epochs={PROBE_EPOCHS}",
        "logger=csv",
        "callbacks.progress_bar=null",
        f"trainer.accelerator={'gpu' if opts.device == 'cuda' else 'cpu'}",
        f"data.cache_dir={probe_tmp / 'cache'}",  # empty: tokenized and features computed
        f"hydra.run.dir={run_dir}",
    ]
    tic = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=child_env(), capture_output=True, text=True)
    wall_s = time.perf_counter() - tic
    out: dict[str, Any] = {
        "forward_s": forward_s,
        "n_examples": n,
        "wall_s": wall_s,
        "epochs": PROBE_EPOCHS,
    }
    try:
        record = json.loads((run_dir / "results.json").read_text())
        out |= {
            "fit_s": record["timing"]["fit_s"],
            "test_s": record["timing"]["test_s"],
            "startup_s": record["timing"]["startup_s"],
            "test": record["metrics"]["test"],
            "status": record["status"],
        }
    except Exception:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        print(f"probe: no record (rc {proc.returncode}): {tail}")
        return out | {"status": "failed"}
    out["sklearn"] = sklearn_reference(dm, probe_tmp / "cache" / "features")
    print(
        f"[probe] fit {out['fit_s']:.1f} s + test {out['test_s']:.1f} s; "
        f"test acc {out['test'].get('acc', math.nan):.3f}",
        flush=True,
    )
    return out
