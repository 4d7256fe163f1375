"""The benchmark's command line, and the run settings every contender shares."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import warnings
from pathlib import Path

import torch

# The checkout (src/bakeoff/bench/ -> the repo root, as bakeoff.results.reproduce finds it):
# train.py runs there, docs/ and conf/ are there. Not `bakeoff.config.CONF_DIR`: importing that
# imports hydra, and the plain loop's start-up process (`startup.first_step_only`) must not.
ROOT = Path(__file__).resolve().parents[3]
CONF = ROOT / "conf"

# Optimizer steps per contender and repeat. MiniLM steps take ~2.7 s each: 8 of them (7 timed)
# keep `make bench` inside its 15-minute budget, at the price of a wider spread over the repeats
# (the report shows it); tiny_bert steps take milliseconds, so more of them average out timer noise.
DEFAULT_STEPS = {"minilm": 8, "tiny_bert": 60}
# Repeats per workload. Repeats alternate the contenders' order (A B C, C B A, ...), so a machine
# that slows down or speeds up over the section affects each contender alike in pairs of repeats.
# MiniLM: two (one such pair), again for the time budget; tiny_bert repeats take seconds.
DEFAULT_REPEATS = {"minilm": 2, "tiny_bert": 4}
# Repeats of the length-grouped contender, where fewer than the others: on MiniLM its samples/s
# are ~2.5x the random batches', which one repeat shows well beyond the machine's noise.
GROUPED_REPEATS = {"minilm": 1}
# Test reviews each contender evaluates. tiny_bert gets through 128 of them in ~30 ms, where the
# fixed cost of any evaluation loop (Lightning's test hooks, ~10 ms) would set the ratio; the
# whole test split (1000) takes ~0.25 s. MiniLM's 128 take ~1.5 s already.
DEFAULT_EVAL_SAMPLES = {"minilm": 128, "tiny_bert": 1000}


def for_workload(opts: argparse.Namespace, workload: str) -> argparse.Namespace:
    """The options with this workload's step, repeat and eval counts filled in where not given."""
    repeats = opts.repeats or DEFAULT_REPEATS.get(workload, 3)
    return argparse.Namespace(
        **{
            **vars(opts),
            "steps": opts.steps or DEFAULT_STEPS.get(workload, 30),
            "repeats": repeats,
            "grouped_repeats": min(repeats, GROUPED_REPEATS.get(workload, repeats)),
            "eval_samples": opts.eval_samples or DEFAULT_EVAL_SAMPLES.get(workload, 128),
        }
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    import bakeoff.bench

    p = argparse.ArgumentParser(description=bakeoff.bench.__doc__.split("\n")[0])
    p.add_argument("--workloads", default="minilm,tiny_bert", help="comma-separated model names")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help=f"optimizer steps per contender and repeat (default: {DEFAULT_STEPS}, else 30)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help=f"repeats of each contender (default: {DEFAULT_REPEATS}, else 3)",
    )
    p.add_argument("--device", choices=["cpu", "cuda"], default=None, help="default: cuda if any")
    p.add_argument("--precision", choices=["32-true", "bf16-mixed"], default="32-true")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    p.add_argument(
        "--eval-samples",
        type=int,
        default=None,
        help=f"test reviews for eval speed (default: {DEFAULT_EVAL_SAMPLES}, else 128)",
    )
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
        "--memory-batches",
        type=int,
        default=None,
        help="training batches of the memory runs (default: up to the first of the widest)",
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


def bench_command(*args: str) -> list[str]:
    """This benchmark in a fresh process (a subprocess mode: `--first-step-only`,
    `--memory-plain`): `python -m bakeoff.bench`, which `scripts/bench.py` also runs."""
    return [sys.executable, "-m", "bakeoff.bench", *args]


def child_env() -> dict[str, str]:
    """The environment of every subprocess: no warnings on stderr, never an online W&B run."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("WANDB_API_KEY", None)  # never an online run from a benchmark
    return env


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
