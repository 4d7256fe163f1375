"""Figures over repeats: median and range, ratios paired within a repeat."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def spread(xs: Sequence[float | None]) -> dict[str, float]:
    kept = [x for x in xs if x is not None and not math.isnan(x)]
    if not kept:
        return {"median": math.nan, "min": math.nan, "max": math.nan}
    return {"median": statistics.median(kept), "min": min(kept), "max": max(kept)}


def paired(runs: list[dict], reference: list[dict], key: str) -> list[float]:
    """run[key] / reference[key] for each repeat both ran (a contender may run in fewer)."""
    by_repeat = {r["repeat"]: r for r in reference}
    return [r[key] / by_repeat[r["repeat"]][key] for r in runs if r["repeat"] in by_repeat]


def summarize(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Per contender: median and min-max over repeats; ratios paired within each repeat."""
    plain = runs["plain"]
    out = {}
    for name, rs in runs.items():
        out[name] = {
            "repeats": len(rs),
            "samples_per_s": spread([r["samples_per_s"] for r in rs]),
            "ratio_to_plain": spread(paired(rs, plain, "samples_per_s")),
            "eval_ratio_to_plain": spread(paired(rs, plain, "eval_samples_per_s")),
            "first_step_s": spread([r["first_step_s"] for r in rs]),
            "eval_samples_per_s": spread([r["eval_samples_per_s"] for r in rs]),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
            "peak_gpu_mb": max((r.get("peak_gpu_mb") or 0.0) for r in rs) or None,
            "padded_fraction": spread([r.get("padded_fraction") for r in rs])["median"],
            "flops_real_per_s": spread([r.get("flops_real_per_s") for r in rs]),
        }
    if "hf_trainer" in runs:
        out["bakeoff"]["ratio_to_hf_trainer"] = spread(
            paired(runs["bakeoff"], runs["hf_trainer"], "samples_per_s")
        )
    return out


def fmt_spread(s: dict, digits: int = 1) -> str:
    if math.isnan(s["median"]):
        return "–"
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def bare_import(startup: dict[str, list[float]]) -> list[float]:
    """The start-up section's reference row: the seconds of the bare import, one per round."""
    return next((v for k, v in startup.items() if k.startswith("bare import")), [])


def startup_ratios(startup: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Each start-up row over the bare import of the same round (median and min-max over
    rounds): a round runs its processes back to back, so a slow spell of the machine weighs on
    both sides of a ratio."""
    bare = bare_import(startup)
    return {
        label: spread([x / b for x, b in zip(xs, bare, strict=True)])
        for label, xs in startup.items()
    }
