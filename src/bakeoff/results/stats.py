"""Statistics for comparing backbones: mean ± std over seeds, confidence intervals, paired tests.

Everything here works on plain numbers/arrays so it can be tested without any run on disk.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
# Resample in chunks so that a large test set never needs a (resamples x examples) index matrix.
_MAX_DRAWS_PER_CHUNK = 4_000_000


class Summary(NamedTuple):
    """Mean, sample standard deviation, count and 95% confidence half-width of some values."""

    mean: float
    std: float
    n: int
    ci95: float


def _finite(values: Iterable[float | None]) -> np.ndarray:
    array = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    return array[np.isfinite(array)]


def _t_quantile_975(dof: int) -> float:
    """Two-sided 95% Student-t quantile; scipy when present (it comes with scikit-learn)."""
    try:
        from scipy.stats import t
    except ImportError:  # pragma: no cover - scipy ships with scikit-learn
        return 1.96
    return float(t.ppf(0.975, dof))


def summarize(values: Iterable[float | None]) -> Summary:
    """Mean ± sample std (ddof=1) and the t-based 95% CI half-width; None/NaN values are ignored.

    With one value the std and CI are NaN: a single seed says nothing about seed variance.
    """
    array = _finite(values)
    n = int(array.size)
    if n == 0:
        return Summary(math.nan, math.nan, 0, math.nan)
    mean = float(array.mean())
    if n == 1:
        return Summary(mean, math.nan, 1, math.nan)
    std = float(array.std(ddof=1))
    return Summary(mean, std, n, _t_quantile_975(n - 1) * std / math.sqrt(n))


def mean_std(values: Iterable[float | None]) -> tuple[float, float, int]:
    """(mean, sample std, n) of the finite values."""
    s = summarize(values)
    return s.mean, s.std, s.n


def confidence_interval(values: Iterable[float | None]) -> tuple[float, float]:
    """95% confidence interval of the mean (Student t); (nan, nan) with fewer than two values."""
    s = summarize(values)
    return s.mean - s.ci95, s.mean + s.ci95


def mean_score(sums: np.ndarray, n: int) -> np.ndarray:
    """The mean of per-example scores, from their sum over n examples (sums[..., 0])."""
    return sums[..., 0] / n


def f1_from_counts(sums: np.ndarray, n: int = 0) -> np.ndarray:
    """F1 = 2 tp / (2 tp + fp + fn) from summed (tp, fp, fn) counts (sums[..., 0:3]).

    Nothing to find and nothing found (all counts 0) is 0, seqeval's rule and that of the logged
    metric (bakeoff.tasks.metrics.f1_from_counts), so the leaderboard's delta and the reported
    metric agree on every resample.
    """
    tp, fp, fn = sums[..., 0], sums[..., 1], sums[..., 2]
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1), 0.0)


# A statistic of a test set computed from the column sums of its per-example values, so that a
# bootstrap resample is a sum over resampled rows: (sums[..., k], n_examples) -> statistic.
Statistic = Callable[[np.ndarray, int], np.ndarray]


def _per_example(values: Iterable | np.ndarray) -> np.ndarray:
    array = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=float)
    return array[:, None] if array.ndim == 1 else array


def statistic_of(values: Iterable | np.ndarray, statistic: Statistic = mean_score) -> float:
    """The statistic of one set of per-example values (1-d scores, or rows of counts)."""
    array = _per_example(values)
    return float(statistic(array.sum(axis=0), len(array))) if len(array) else math.nan


def paired_bootstrap(
    scores_a: Iterable | np.ndarray,
    scores_b: Iterable | np.ndarray,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    statistic: Statistic = mean_score,
) -> float:
    """Two-sided paired bootstrap p-value for statistic(a) != statistic(b) on the same examples.

    Position i is the same test example in both. By default the values are per-example scores
    (1-d; e.g. correctness 0/1, or correctness averaged over seeds) and the statistic is their
    mean; with `statistic=f1_from_counts` they are rows of (tp, fp, fn) counts and the statistic
    is the F1 of their sums. Examples are resampled with replacement and p = 2 x the fraction of
    resampled differences on the other side of zero (or at zero), using the (count + 1) /
    (resamples + 1) estimate so that p is never an impossible 0. Identical values (and any pair
    with no observed difference) give exactly 1.0.
    """
    a, b = _per_example(scores_a), _per_example(scores_b)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"paired scores need equal shapes, got {a.shape} and {b.shape}")
    n = len(a)
    if n == 0:
        return 1.0
    observed = float(statistic(a.sum(axis=0), n) - statistic(b.sum(axis=0), n))
    if observed == 0.0:
        return 1.0
    rng = np.random.default_rng(seed)
    chunk = max(1, _MAX_DRAWS_PER_CHUNK // (n * a.shape[1]))
    opposite = 0
    done = 0
    while done < n_resamples:
        size = min(chunk, n_resamples - done)
        rows = rng.integers(0, n, size=(size, n))
        deltas = statistic(a[rows].sum(axis=1), n) - statistic(b[rows].sum(axis=1), n)
        opposite += int(np.count_nonzero(deltas <= 0 if observed > 0 else deltas >= 0))
        done += size
    return min(1.0, 2.0 * (opposite + 1) / (n_resamples + 1))


def paired_bootstrap_metric(
    metric_a: Callable[[np.ndarray], np.ndarray],
    metric_b: Callable[[np.ndarray], np.ndarray],
    n: int,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> float:
    """Two-sided paired bootstrap p-value for metric(a) != metric(b) on the same n examples, the
    metric recomputed on each resample (macro-F1, MCC, Pearson ... are not means of per-example
    values). A metric maps resample counts (resamples, n) to one value per resample; both sides
    see the same resamples. p as in `paired_bootstrap`; no observed difference gives 1.0."""
    if n == 0:
        return 1.0
    ones = np.ones((1, n))
    observed = float(metric_a(ones)[0] - metric_b(ones)[0])
    if observed == 0.0 or not math.isfinite(observed):
        return 1.0
    rng = np.random.default_rng(seed)
    chunk = max(1, _MAX_DRAWS_PER_CHUNK // n)
    opposite = done = 0
    uniform = np.full(n, 1.0 / n)
    while done < n_resamples:
        size = min(chunk, n_resamples - done)
        counts = rng.multinomial(n, uniform, size=size).astype(float)
        deltas = metric_a(counts) - metric_b(counts)
        opposite += int(np.count_nonzero(deltas <= 0 if observed > 0 else deltas >= 0))
        done += size
    return min(1.0, 2.0 * (opposite + 1) / (n_resamples + 1))


def mcnemar_exact(correct_a: Iterable[bool], correct_b: Iterable[bool]) -> float:
    """Exact (binomial) two-sided McNemar p-value on paired per-example correctness.

    Only discordant examples count: b = a right & b wrong, c = a wrong & b right;
    p = min(1, 2 * P(X <= min(b, c))) with X ~ Binomial(b + c, 1/2). No discordant pair gives 1.0.
    """
    a = np.asarray(list(correct_a), dtype=bool)
    b = np.asarray(list(correct_b), dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired correctness needs equal shapes, got {a.shape} and {b.shape}")
    only_a = int(np.count_nonzero(a & ~b))
    only_b = int(np.count_nonzero(~a & b))
    n = only_a + only_b
    if n == 0:
        return 1.0
    # Exact integer arithmetic: sum of C(n, k) for k <= min, built term by term.
    term, tail = 1, 1
    for k in range(min(only_a, only_b)):
        term = term * (n - k) // (k + 1)
        tail += term
    return min(1.0, (2 * tail) / (1 << n))
