"""Smoke test of the benchmark (bakeoff.bench, run by scripts/bench.py) on tiny_bert: the
report's structure and finite ratios.

Nothing here is timed: the figures themselves belong to `make bench`, not to the test suite.
"""

from __future__ import annotations

import json
import math
import sys

import pytest
import torch
from omegaconf import OmegaConf

from bakeoff.bench import main
from bakeoff.bench.contenders import CONTENDERS, repeat_order
from bakeoff.bench.measure import flop_spec, train_flops
from bakeoff.bench.memory import run_measuring_rss
from bakeoff.bench.model import MeanPoolClassifier, build_encoder, tiny_bert_config
from bakeoff.bench.options import bench_command
from bakeoff.bench.summary import paired, startup_ratios
from tests.helpers.runs import CONF


def finite(x) -> bool:
    return x is not None and math.isfinite(x)


def test_tiny_bert_read_from_its_config():
    """The loops that do not read bakeoff's config build the architecture of model=tiny_bert."""
    overrides = OmegaConf.load(CONF / "model" / "tiny_bert.yaml").backbone.config_overrides
    overrides = OmegaConf.to_container(overrides, resolve=True)
    assert tiny_bert_config() == overrides
    encoder = build_encoder("tiny_bert", seed=0)
    assert encoder.config.model_type == overrides.pop("model_type")
    for key, value in overrides.items():
        assert getattr(encoder.config, key) == value, key


def test_flop_formula_matches_torch_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode

    model = MeanPoolClassifier(build_encoder("tiny_bert", seed=0), num_classes=2)
    # torch's counter misses the fused CPU attention kernel; eager attention is plain matmuls.
    model.encoder.set_attn_implementation("eager")
    n = 40
    ids = torch.randint(1000, 2000, (1, n))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.eval()(input_ids=ids, attention_mask=torch.ones_like(ids))
    formula_forward = train_flops([n], flop_spec(model)) / 3
    assert formula_forward == pytest.approx(counter.get_total_flops(), rel=0.01)


def test_bench_smoke_tiny_bert(tmp_path):
    out, raw = tmp_path / "benchmarks.md", tmp_path / "bench.json"
    main(
        [
            "--workloads=tiny_bert",
            "--steps=3",
            "--repeats=2",
            "--eval-samples=16",
            "--no-startup",
            "--no-probe",  # MiniLM over the whole data set: make bench only
            "--no-memory",
            "--compile-steps=4",
            "--compile-backend=eager",  # dynamo's tracing without inductor's C++ build
            "--peak-seconds=0.2",
            "--device=cpu",
            f"--threads={torch.get_num_threads()}",  # leave the test process as it was
            f"--out={out}",
            f"--json={raw}",
        ]
    )
    report = json.loads(raw.read_text())
    runs = report["workloads"]["tiny_bert"]["runs"]
    assert list(runs) == list(CONTENDERS)
    for name, rs in runs.items():
        assert [r["repeat"] for r in rs] == [0, 1], name
        for run in rs:
            assert run["steps"] == 3, name
            for key in ("samples_per_s", "first_step_s", "eval_samples_per_s", "peak_rss_mb"):
                assert finite(run[key]) and run[key] > 0, (name, key)

    summary = report["summary"]["tiny_bert"]
    assert summary["plain"]["ratio_to_plain"]["median"] == pytest.approx(1.0)
    for name, s in summary.items():
        ratio = s["ratio_to_plain"]
        assert finite(ratio["median"]) and ratio["min"] <= ratio["median"] <= ratio["max"], name
    assert finite(summary["bakeoff"]["ratio_to_hf_trainer"]["median"])
    for name in ("plain", "bakeoff", "hf_trainer"):
        assert finite(summary[name]["flops_real_per_s"]["median"]), name
    # bakeoff counted the padding of the batches its own loader collated: the same batches.
    assert runs["bakeoff"][1]["padded_fraction"] == pytest.approx(
        runs["plain"][1]["padded_fraction"]
    )
    compiled = report["workloads"]["tiny_bert"]["compile"]["runs"]
    assert compiled["eager"]["graphs"] == 0
    for name in ("compile_then_unfreeze", "unfreeze_then_compile"):
        assert compiled[name]["graphs"] >= 1 and len(compiled[name]["step_s"]) == 4, name
    padding = report["padding"]["tiny_bert"]
    assert 0.0 <= padding["epoch_grouped"] < padding["epoch_random"] < 1.0

    text = out.read_text()
    for label in CONTENDERS.values():
        assert label in text
    assert "python scripts/bench.py --workloads=tiny_bert" in text
    assert "## Goals" in text and "## torch.compile (tiny_bert)" in text
    assert "| bert-base (random init), bf16-mixed | not measured (no GPU lent) |" in text
    assert {g["result"] for g in report["goals"]} <= {"PASS", "MISS", "n/a"}


def test_repeats_alternate_the_order_and_ratios_pair_by_repeat():
    """A B C, C B A: a drifting machine favours no contender over a pair of repeats. A
    contender run in fewer repeats (the grouped one on MiniLM) pairs with its own repeats."""
    names = ["plain", "bakeoff", "hf_trainer"]
    assert repeat_order(names, 0) == names and repeat_order(names, 1) == names[::-1]
    plain = [{"repeat": 0, "s": 10.0}, {"repeat": 1, "s": 20.0}]
    grouped = [{"repeat": 1, "s": 50.0}]
    assert paired(grouped, plain, "s") == [2.5]
    assert paired(plain, plain, "s") == [1.0, 1.0]


def test_startup_ratios_pair_each_round_with_its_bare_import():
    startup = {
        "bare import of torch": [6.0, 8.0, 7.0],
        "train.py model=tiny_bert, logger=csv": [7.2, 8.8, 9.1],
    }
    ratios = startup_ratios(startup)
    assert ratios["bare import of torch"]["median"] == 1.0
    # rounds 1.2, 1.1, 1.3: the slow second round counts against its own bare import
    csv = ratios["train.py model=tiny_bert, logger=csv"]
    assert (csv["min"], csv["median"], csv["max"]) == pytest.approx((1.1, 1.2, 1.3))


def test_peak_rss_of_a_child_process_is_its_own(tmp_path):
    """The memory rows' figure: a child's own peak (wait4), not this process's."""

    def peak(mb: int) -> float:
        grab = f"import numpy as np; a = np.ones({mb} * 2**20 // 8); print(a.sum() > 0)"
        proc, peak_mb = run_measuring_rss([sys.executable, "-c", grab], tmp_path / "logs")
        assert proc.returncode == 0 and proc.stdout.strip() == "True"
        return peak_mb

    assert peak(300) - peak(1) == pytest.approx(300, abs=30)  # the array, not the interpreter
    failing, _ = run_measuring_rss([sys.executable, "-c", "raise SystemExit(3)"], tmp_path)
    assert failing.returncode == 3


def test_subprocess_modes_start_the_package(tmp_path):
    """The start-up and memory sections start `python -m bakeoff.bench` in a subprocess mode
    (here via the wait4 launcher, from the checkout): the package's entry point, which knows
    the hidden options (an option it did not know would be another error)."""
    proc, _ = run_measuring_rss(bench_command("--first-step-only"), tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "argument --first-step-only: expected one argument" in proc.stderr
