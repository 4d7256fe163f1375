"""The goals of issues 5 and 12, judged on what this run measured."""

from __future__ import annotations

import math

from bakeoff.bench.summary import fmt_spread, startup_ratios


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
    for label, ratio in startup_ratios(startup).items():
        if label.startswith("train.py"):
            goals.append(
                goal(
                    f"start-up of `{label}` < 1.3 × bare import (same round)",
                    f"{fmt_spread(ratio, 2)} ×",
                    ratio["median"] < 1.3 if not math.isnan(ratio["median"]) else None,
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
