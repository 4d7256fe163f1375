"""Figures over repeats: median and range, ratios paired within a repeat."""

from __future__ import annotations

import math
import statistics


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


def fmt_spread(s: dict, digits: int = 1) -> str:
    if math.isnan(s["median"]):
        return "–"
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"
