"""The whole benchmark: every section in turn, the report as data, then docs/benchmarks.md."""

from __future__ import annotations

import json
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from bakeoff.bench.contenders import bench_workload
from bakeoff.bench.goals import evaluate_goals
from bakeoff.bench.measure import matmul_peak_flops
from bakeoff.bench.memory import measure_memory, memory_plain
from bakeoff.bench.options import parse_args, quiet, set_threads
from bakeoff.bench.probe import measure_probe
from bakeoff.bench.report import render
from bakeoff.bench.startup import first_step_only, measure_startup
from bakeoff.bench.summary import summarize
from bakeoff.utils.machine import machine


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
        "startup": None,
        "probe": None,
        "memory": None,
    }
    sections: dict[str, float] = {}  # seconds each section took: where the budget goes

    def timed(name: str, section, *args):
        tic = time.perf_counter()
        try:
            return section(*args)
        finally:
            sections[name] = time.perf_counter() - tic

    with tempfile.TemporaryDirectory(prefix="bakeoff-bench-") as tmp:
        for w in opts.workloads:
            report["workloads"][w] = timed(w, bench_workload, w, opts, Path(tmp))
        if not opts.no_startup:
            report["startup"] = timed("start-up", measure_startup, opts, Path(tmp))
        if not opts.no_probe:
            report["probe"] = timed("probe", guarded, measure_probe, opts, Path(tmp))
        if not opts.no_memory:
            report["memory"] = timed("memory", guarded, measure_memory, opts, Path(tmp))
    report["section_s"] = sections
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
