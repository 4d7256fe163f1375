"""The contenders: the same training three ways (and bakeoff's length-grouped variant), and the
interleaved repeats of them all on one workload."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F

from bakeoff.bench.compile_costs import compile_costs
from bakeoff.bench.measure import (
    PeakRss,
    StepClock,
    autocast,
    padded_fraction,
    sync_fn,
    train_flops,
)
from bakeoff.bench.model import (
    LR,
    WARMUP_RATIO,
    WEIGHT_DECAY,
    MeanPoolClassifier,
    build_encoder,
    linear_warmup,
)
from bakeoff.bench.options import for_workload, set_threads
from bakeoff.bench.workloads import Workload, as_dataset, fixed_batches, pad_collate, prepare

CONTENDERS = {
    "plain": "plain PyTorch loop",
    "bakeoff": "bakeoff (TaskModule + Trainer)",
    "hf_trainer": "transformers.Trainer",
    "bakeoff_grouped": "bakeoff, group_by_length=true",
}


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
    loader = DataLoader(
        as_dataset(w.train), batch_sampler=w.batches, collate_fn=collate, pin_memory=pin
    )
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
    preds = []  # kept, as a hand-written eval keeps them (bakeoff keeps its predictions too)
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
    """bakeoff's own objects, wired as `bakeoff.runs.train.fit_and_test` wires them.

    Not `bakeoff.runs.train.run(cfg)`: that one would draw its own shuffle; here the DataModule's
    loader (its collate, workers, pinning) serves the same fixed batches as the other loops
    (`TaskData.fix_train_batches`). The grouped variant keeps bakeoff's own length-grouped
    loader untouched.
    """
    import lightning as L

    from bakeoff.callbacks.measure import RunMeter
    from bakeoff.models.finetune import FreezeSchedule
    from bakeoff.runs.assembly import build_run_parts
    from bakeoff.runs.common import build_loggers, build_trainer
    from bakeoff.utils.build import build

    cfg, dm = (w.cfg_grouped, w.dm_grouped) if grouped else (w.cfg, w.dm)
    clock = StepClock(opts.steps, sync_fn(opts.device))
    L.seed_everything(cfg.seed, workers=True)
    module = build_run_parts(cfg, datamodule=dm).module  # the model for the shared data
    dm.tokens = {"real": 0, "padded": 0}  # the padded-token count of this run only
    if not grouped:
        dm.fix_train_batches(w.batches)
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
    trainer.evaluate(eval_dataset=as_dataset(w.test))
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


def repeat_order(names: list[str], r: int) -> list[str]:
    """Contenders in repeat r: as listed in even repeats, reversed in odd ones (A B C, C B A).
    A machine that drifts slower or faster over a section then favours no contender over a
    pair of repeats, where a fixed order would always give the first one the same slot."""
    return names if r % 2 == 0 else names[::-1]


def bench_workload(workload: str, opts, tmp: Path) -> dict:
    """Interleaved repeats of every contender on one workload, plus its padding figures."""
    opts = for_workload(opts, workload)  # this workload's step, repeat and eval counts
    w = prepare(workload, opts, tmp)
    names = [n for n in CONTENDERS if not (opts.no_grouped and n == "bakeoff_grouped")]
    runs: dict[str, list[dict]] = {n: [] for n in names}
    for r in range(opts.repeats):
        for name in repeat_order(names, r):
            if name == "bakeoff_grouped" and r >= opts.grouped_repeats:
                continue
            out = run_contender(name, w, opts, tmp / f"r{r}") | {"repeat": r}
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
        "steps": opts.steps,
        "repeats": opts.repeats,
        "grouped_repeats": opts.grouped_repeats,
        "adamw": w.adamw,
        "runs": runs,
        "compile": compiled,
        "padding": {
            "epoch_random": padded_fraction(epoch_random, w.lengths),
            "epoch_grouped": padded_fraction(epoch_grouped, w.lengths),
        },
    }
