#!/usr/bin/env python
"""Scaling: wall time of a real bakeoff sweep against its number of jobs and parallel jobs.

Each configuration is one `python train.py -m ...` subprocess (a Hydra multirun of random-init
tiny text models, backbones x seeds), timed from process start to exit:

  sequential  Hydra's basic launcher, one job after the other, each with all cores' threads
  joblib      hydra/launcher=joblib with n_jobs workers at once, cores / n_jobs threads each

Per job, results.json gives fit_s and test_s; the job's own span (Hydra writes .hydra/config.yaml
when the job starts, the record is the last file it writes) gives its set-up: span - fit - test.
Writes the whole of docs/scaling_measured.md and prints it.

    python scripts/scaling.py                       # make scaling: 1,2,4 jobs + joblib 2,4
    python scripts/scaling.py --jobs-list 1 --parallel-jobs-list 2 --steps 5   # smoke
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bakeoff.utils.machine import machine

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cores = len(os.sched_getaffinity(0))
    p.add_argument("--jobs-list", default="1,2,4", help="job counts, sequential launcher")
    p.add_argument("--parallel-jobs-list", default="2,4", help="job counts, joblib launcher")
    p.add_argument("--n-jobs", type=int, default=2, help="joblib workers running at once")
    p.add_argument("--threads", type=int, default=cores, help="torch threads, sequential jobs")
    p.add_argument("--models", default="tiny_bert,tiny_roberta", help="backbones to sweep")
    # ~5 s of training per job on 2 cores: start-up and training both show. One epoch of
    # exactly --steps batches; amazon_reviews has 3600 training reviews, 112 batches of 32.
    p.add_argument("--steps", type=int, default=100, help="optimizer steps per job (one epoch)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=256, help="the data config's default")
    p.add_argument("--eval-examples", type=int, default=64, help="data.limit_val and limit_test")
    p.add_argument("--out", default=str(ROOT / "docs" / "scaling_measured.md"))
    p.add_argument("--json", default=None, help="also write the raw figures here")
    p.add_argument("--keep", default=None, help="keep the sweep dirs under this dir")
    argv = sys.argv[1:] if argv is None else argv
    opts = p.parse_args(argv)
    opts.command = shlex.join(["python", "scripts/scaling.py", *argv])
    opts.cores = cores
    opts.models = [m.strip() for m in opts.models.split(",") if m.strip()]
    missing = [m for m in opts.models if not (ROOT / "conf" / "model" / f"{m}.yaml").is_file()]
    if missing:
        raise SystemExit(f"no conf/model/{missing[0]}.yaml")
    opts.jobs_list = [int(n) for n in opts.jobs_list.split(",") if n.strip()]
    opts.parallel_jobs_list = [int(n) for n in opts.parallel_jobs_list.split(",") if n.strip()]
    return opts


# -- one configuration -----------------------------------------------------------------------------
def sweep_axes(jobs: int, models: list[str]) -> tuple[list[str], list[int]]:
    """Backbones x seeds with exactly `jobs` jobs: all models where they divide it, else fewer."""
    if jobs % len(models) == 0:
        return models, list(range(1, jobs // len(models) + 1))
    if jobs < len(models):
        return models[:jobs], [1]
    raise SystemExit(f"{jobs} jobs is not a multiple of {len(models)} models")


def multirun_argv(jobs: int, n_jobs: int | None, opts, sweep_dir: Path) -> list[str]:
    """The command line a user would type; one epoch of exactly --steps batches, no W&B."""
    models, seeds = sweep_axes(jobs, opts.models)
    argv = [sys.executable, "train.py", "-m", f"model={','.join(models)}"]
    argv += [f"seed={','.join(map(str, seeds))}", "logger=csv", "trainer.max_epochs=1"]
    argv += [f"trainer.max_steps={opts.steps}", f"data.batch_size={opts.batch_size}"]
    argv += [f"data.max_length={opts.max_length}"]
    argv += [f"data.limit_{split}={opts.eval_examples}" for split in ("val", "test")]
    argv += [f"data.limit_train={opts.steps * opts.batch_size}", f"hydra.sweep.dir={sweep_dir}"]
    if "cache_dir:" in (ROOT / "conf" / "data" / "amazon_reviews.yaml").read_text():
        # A token cache of its own per sweep: each starts as a first sweep over new data, not
        # warmed by the configurations before it (nor by the user's .data dir).
        argv.append(f"data.cache_dir={sweep_dir}-tokens")
    if n_jobs:
        argv += ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={n_jobs}"]
    return argv


def job_env(threads: int) -> dict[str, str]:
    """torch sizes its intra-op pool from OMP_NUM_THREADS when it loads: the env is enough.

    Loky (joblib's process pool) passes these on to its workers; unset, it would set them to
    cores // n_jobs itself (see `check_threads`).
    """
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", WANDB_MODE="disabled")
    env.pop("WANDB_API_KEY", None)  # never an online run from a benchmark
    env["PYTHONWARNINGS"] = "ignore"
    return env


def job_rows(sweep_dir: Path) -> list[dict]:
    """Per job: the record's timing and its span on the wall clock (file times, same clock)."""
    rows = []
    for path in sorted(sweep_dir.glob("*/results.json"), key=lambda p: int(p.parent.name)):
        rec = json.loads(path.read_text())
        row = {k: rec["timing"][k] or 0.0 for k in ("startup_s", "fit_s", "test_s")}
        row.update(job=int(path.parent.name), status=rec["status"], n_train=rec["data"]["n_train"])
        row["overrides"] = " ".join(
            o for o in rec["overrides"] if o.startswith(("model=", "seed="))
        )
        row["start"] = (path.parent / ".hydra" / "config.yaml").stat().st_mtime
        row["end"] = path.stat().st_mtime
        rows.append(row)
    return rows


def run_config(label: str, jobs: int, n_jobs: int | None, threads: int, opts, tmp: Path) -> dict:
    sweep_dir = tmp / f"{label}-{jobs}"
    argv = multirun_argv(jobs, n_jobs, opts, sweep_dir)
    print(f"[scaling] {label}, {jobs} jobs, {threads} threads/job ...", flush=True)
    t0, tic = time.time(), time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=job_env(threads), capture_output=True, text=True)
    wall = time.perf_counter() - tic
    rows = job_rows(sweep_dir)
    bad = [r for r in rows if r["status"] != "completed"]
    if proc.returncode != 0 or len(rows) != jobs or bad:
        tail = (proc.stderr.strip() or proc.stdout.strip())[-4000:]
        print(f"$ {shlex.join(argv)}\n--- stderr tail ---\n{tail}", file=sys.stderr)
        raise SystemExit(
            f"{label} multirun of {jobs} jobs: exit {proc.returncode}, "
            f"{len(rows)} records, {len(bad)} not completed"
        )
    if rows[0]["n_train"] < opts.steps * opts.batch_size:
        print(f"[scaling] note: {rows[0]['n_train']} training examples, < --steps", file=sys.stderr)
    for r in rows:  # seconds after the command started, for the per-job table
        r["start"], r["end"] = r["start"] - t0, r["end"] - t0
    fit = sum(r["fit_s"] for r in rows)
    test = sum(r["test_s"] for r in rows)
    span = sum(r["end"] - r["start"] for r in rows)
    busy = max(r["end"] for r in rows) - min(r["start"] for r in rows)
    load = os.getloadavg()[0]  # machine-wide, other users' work included (ps may not show it)
    print(f"[scaling]   wall {wall:.1f} s, load average {load:.2f}", flush=True)
    return {
        "label": label,
        "jobs": jobs,
        "n_jobs": n_jobs or 1,
        "threads": threads,
        "command": shlex.join(["python", *argv[1:]]).replace(str(tmp), "$TMP"),
        "wall_s": wall,
        "fit_s": fit,
        "test_s": test,
        "setup_s": span - fit - test,  # imports, data, model build, checkpoint, record: per job
        "startup_s": sum(r["startup_s"] for r in rows),
        "overhead_s": wall - busy,  # python + Hydra start before the first job, comparison after
        "load_after": load,
        "rows": rows,
    }


def check_threads(threads: int, n_jobs: int) -> dict:
    """What torch.get_num_threads() is in this process and in loky workers, with this env."""
    code = (
        "import joblib, torch\n"
        f"workers = joblib.Parallel(n_jobs={n_jobs})(joblib.delayed(torch.get_num_threads)()"
        f" for _ in range({n_jobs}))\n"
        "print(torch.get_num_threads(), *workers)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=job_env(threads), capture_output=True, text=True
    )
    nums = [int(x) for x in out.stdout.split()] if out.returncode == 0 else []
    return {"env": threads, "main": nums[0] if nums else None, "workers": nums[1:]}


# -- report ----------------------------------------------------------------------------------------
def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float] | None:
    """Least squares y = a + b x (None with fewer than two distinct x)."""
    if len(set(xs)) < 2:
        return None
    mx, my = mean(xs), mean(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    b = cov / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


def interpretation(report: dict) -> list[str]:
    """Sentences computed from the figures: per-job and per-sweep fixed costs, joblib's effect."""
    seq = {c["jobs"]: c for c in report["configs"] if c["label"] == "sequential"}
    par = {c["jobs"]: c for c in report["configs"] if c["label"] == "joblib"}
    out = []
    if seq:
        rows = [r for c in seq.values() for r in c["rows"]]
        first = mean(
            [r["end"] - r["start"] - r["fit_s"] - r["test_s"] for r in rows if r["job"] == 0]
        )
        later = [r["end"] - r["start"] - r["fit_s"] - r["test_s"] for r in rows if r["job"] > 0]
        work = mean([r["fit_s"] + r["test_s"] for r in rows])
        out.append(
            f"- Sequential: a job trains and tests for {work:.1f} s on average. Its own set-up "
            f"(data, model, checkpoint, record) is {first:.1f} s for the first job of a sweep, which "
            "also imports torch, Lightning and transformers"
            + (f", and {mean(later):.1f} s for later jobs in the same process." if later else ".")
        )
        fit = linear_fit([float(j) for j in seq], [c["wall_s"] for c in seq.values()])
        if fit:
            out.append(
                f"- Fitted over the sequential sweeps: wall ≈ {fit[0]:.1f} s + {fit[1]:.1f} s × jobs. "
                + (
                    f"Per job, {fit[1] - work:.1f} s of the {fit[1]:.1f} s is not training or testing; "
                    if fit[1] > work
                    else f"The slope is within the noise of a job's own {work:.1f} s of training and "
                    "testing: a later job adds next to nothing else; "
                )
                + "the constant is the sweep's own cost (Python and Hydra start-up, the first job's "
                "imports, the comparison after the last job)."
            )
    for jobs, c in sorted(par.items()):
        if jobs not in seq:
            continue
        s = seq[jobs]["wall_s"] / c["wall_s"]
        verdict = "helps" if s > 1.1 else "hurts" if s < 0.95 else "makes little difference"
        slow = (c["fit_s"] / jobs) / (seq[jobs]["fit_s"] / jobs)
        out.append(
            f"- {jobs} jobs, joblib n_jobs={c['n_jobs']} vs sequential: {s:.2f}× speed-up, so on "
            f"{report['machine']['usable_cores']} cores it {verdict}; each job's fit took "
            f"{slow:.2f}× as long ({c['threads']} thread{'s' * (c['threads'] > 1)}, sharing the "
            f"cores) and set-up {c['setup_s'] / jobs:.1f} s vs {seq[jobs]['setup_s'] / jobs:.1f} s."
        )
    cores, loads = report["machine"]["usable_cores"], [c["load_after"] for c in report["configs"]]
    before = report["machine"]["load_before"]
    if before > 0.5 * cores or max(loads) > 1.5 * cores:  # the sweeps alone stay near `cores`
        out.append(
            f"- Caution: load average {before:.1f} before the run and up to {max(loads):.1f} during "
            f"it, on {cores} cores: other work shared "
            "the machine, and threads that wait for each other (torch's OpenMP pool) slow down "
            "more than the share of the cores they lose. Re-run on an idle machine to compare."
        )
    return out


def render(report: dict) -> str:
    opts, m = report["options"], report["machine"]
    lines = [
        "# Sweep scaling, measured",
        "",
        "Written by `scripts/scaling.py` (`make scaling`); re-run it to replace this file. Method",
        "and model: `docs/scaling.md`. Every figure below was measured in the run described here.",
        "",
        f"- command: `{report['command']}`",
        f"- date: {report['date']}",
        f"- machine: {m['cpu']}, {m['usable_cores']} usable cores of {m['cores']}, load average "
        f"{m['load_before']:.2f} before the run (the machine may be shared)",
        f"- software: Python {m['python']}, torch {m['torch']}, hydra {m['hydra']}, "
        f"joblib {m['joblib']}",
        f"- jobs: models {', '.join(opts['models'])} x seeds 1..k, amazon_reviews, "
        f"{opts['steps']} steps of {opts['batch_size']}, max length {opts['max_length']}, "
        f"{opts['eval_examples']} val / test examples, logger=csv; each sweep with a token cache "
        "of its own where the data config has one (`data.cache_dir`)",
        f"- wall time of the whole measurement: {report['wall_s'] / 60:.1f} min",
        "",
        "Wall: `python train.py -m ...` from process start to exit. Σ fit / Σ test: the jobs'",
        "`timing.fit_s` / `timing.test_s`. Σ set-up: each job's span (`.hydra/config.yaml` written",
        "→ `results.json` written) minus its fit and test. Sweep overhead: wall minus the span from",
        "the first job's start to the last job's end. Speed-up: sequential wall / joblib wall.",
        "Σ startup_s: the records' `timing.startup_s` (job start → first batch; a process's first",
        "job counts from process start, so it includes the imports). Load after: the 1-minute",
        f"load average as the sweep ended; the sweep alone keeps it near {m['usable_cores']} (the "
        "cores): well above that, other work shared the machine and the times are inflated.",
        "",
        "| launcher | threads/job | jobs | wall (s) | wall/job (s) | Σ fit (s) | Σ test (s) "
        "| Σ set-up (s) | Σ startup_s (s) | sweep overhead (s) | speed-up | load after |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    seq = {c["jobs"]: c["wall_s"] for c in report["configs"] if c["label"] == "sequential"}
    for c in report["configs"]:
        name, speed = "basic (sequential)", "–"
        if c["label"] == "joblib":
            name = f"joblib n_jobs={c['n_jobs']}"
            speed = f"{seq[c['jobs']] / c['wall_s']:.2f}×" if c["jobs"] in seq else "–"
        lines.append(
            f"| {name} | {c['threads']} | {c['jobs']} | {c['wall_s']:.1f} | "
            f"{c['wall_s'] / c['jobs']:.1f} | {c['fit_s']:.1f} | {c['test_s']:.1f} | "
            f"{c['setup_s']:.1f} | {c['startup_s']:.1f} | {c['overhead_s']:.1f} | {speed} | {c['load_after']:.2f} |"
        )
    lines += ["", "## What the numbers say", "", *interpretation(report), ""]
    lines += threads_section(report) + jobs_section(report)
    return "\n".join(lines)


def threads_section(report: dict) -> list[str]:
    lines = ["## Threads", ""]
    for t in report["thread_checks"]:
        lines.append(
            f"- `OMP_NUM_THREADS={t['env']}` (and MKL): `torch.get_num_threads()` is {t['main']} in "
            f"a process, {', '.join(map(str, t['workers'])) or '?'} in joblib (loky) workers."
        )
    lines += [
        "- Jobs that share a process (all of them with the basic launcher, a loky worker's later",
        "  jobs) import once: only the first job's `timing.startup_s` includes the imports.",
        "",
    ]
    return lines


def jobs_section(report: dict) -> list[str]:
    lines = [
        "## Per job",
        "",
        "Times in seconds after the command started.",
        "",
        "| launcher | jobs | job | overrides | start | end | startup_s | fit_s | test_s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in report["configs"]:
        for r in c["rows"]:
            lines.append(
                f"| {c['label']} | {c['jobs']} | {r['job']} | {r['overrides']} | {r['start']:.1f} "
                f"| {r['end']:.1f} | {r['startup_s']:.1f} | {r['fit_s']:.1f} | {r['test_s']:.2f} |"
            )
    lines += ["", "Exact commands (`$TMP`: a temporary dir):", ""]
    lines += [f"- `{c['command']}`" for c in report["configs"]]
    return [*lines, ""]


def measure(opts) -> dict:
    start = time.perf_counter()
    report = {
        "command": opts.command,
        "options": {k: v for k, v in vars(opts).items() if k != "command"},
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine(usable_cores=opts.cores),
        "configs": [],
    }
    par_threads = max(1, opts.cores // opts.n_jobs)  # what loky would pick: no oversubscription
    report["thread_checks"] = [
        check_threads(t, opts.n_jobs) for t in sorted({opts.threads, par_threads})
    ]
    with tempfile.TemporaryDirectory(prefix="bakeoff-scaling-") as tmp:
        base = Path(opts.keep) if opts.keep else Path(tmp)
        for jobs in opts.jobs_list:
            report["configs"].append(run_config("sequential", jobs, None, opts.threads, opts, base))
        for jobs in opts.parallel_jobs_list:
            cfg = run_config("joblib", jobs, opts.n_jobs, par_threads, opts, base)
            report["configs"].append(cfg)
    report["wall_s"] = time.perf_counter() - start
    return report


def main(argv: list[str] | None = None) -> None:
    opts = parse_args(argv)
    report = measure(opts)
    if opts.json:  # the raw figures, every job's timeline included
        Path(opts.json).write_text(json.dumps(report, indent=1))
    text = render(report)
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.out).write_text(text)
    print(f"\n{text}\nwritten: {opts.out}")


if __name__ == "__main__":
    main()
