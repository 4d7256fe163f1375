"""Statistics used by the comparison: values checked against hand computations."""

import math

import numpy as np
import pytest

from bakeoff.results import stats


def test_summarize_mean_std_ci():
    s = stats.summarize([0.5, 0.7, 0.6])
    assert s.n == 3
    assert s.mean == pytest.approx(0.6)
    assert s.std == pytest.approx(0.1)  # sample std (ddof=1)
    assert s.ci95 == pytest.approx(4.302653 * 0.1 / math.sqrt(3), rel=1e-5)  # t(0.975, 2)
    low, high = stats.confidence_interval([0.5, 0.7, 0.6])
    assert (low, high) == pytest.approx((0.6 - s.ci95, 0.6 + s.ci95))


def test_summarize_ignores_missing_and_single_value_has_no_std():
    assert stats.mean_std([1.0, None, float("nan"), 3.0]) == pytest.approx((2.0, math.sqrt(2), 2))
    single = stats.summarize([0.42])
    assert single.mean == 0.42 and single.n == 1 and math.isnan(single.std)
    assert stats.summarize([]).n == 0


def test_bootstrap_identical_predictions_give_p_one():
    correct = np.random.default_rng(1).random(300) > 0.3
    assert stats.paired_bootstrap(correct, correct) == 1.0
    # different examples right, same accuracy: no observed difference, p is 1 as well
    assert stats.paired_bootstrap([1, 0, 1, 0], [0, 1, 0, 1]) == 1.0


def test_bootstrap_known_different_pair_is_significant_and_reproducible():
    a = np.r_[np.ones(180), np.zeros(20)]  # 90% correct
    b = np.r_[np.ones(100), np.zeros(100)]  # 50% correct
    p = stats.paired_bootstrap(a, b)
    assert p < 0.05
    assert p == stats.paired_bootstrap(a, b)  # fixed RNG seed
    assert p == pytest.approx(2 / 10_001)  # no resample crosses zero: the (0 + 1) / (B + 1) floor
    assert stats.paired_bootstrap(b, a) == p  # two-sided


def test_bootstrap_small_difference_is_not_significant():
    a = np.r_[np.ones(3), np.zeros(1), np.ones(96)]
    b = np.r_[np.zeros(3), np.ones(1), np.ones(96)]  # differs on 4 examples, 3 vs 1
    assert stats.paired_bootstrap(a, b) > 0.05


def test_bootstrap_rejects_unaligned_scores():
    with pytest.raises(ValueError):
        stats.paired_bootstrap([1, 0], [1, 0, 1])


def test_mcnemar_exact_values():
    a = np.r_[np.ones(10, bool), np.ones(5, bool)]
    b = np.r_[np.zeros(10, bool), np.ones(5, bool)]  # 10 discordant, all favour a
    assert stats.mcnemar_exact(a, b) == pytest.approx(2 * 0.5**10)
    # 8 vs 2 discordant: 2 * P(X <= 2), X ~ Bin(10, 1/2) = 2 * (1 + 10 + 45) / 1024
    a = np.r_[np.ones(8, bool), np.zeros(2, bool)]
    assert stats.mcnemar_exact(a, ~a) == pytest.approx(2 * 56 / 1024)
    assert stats.mcnemar_exact([1, 0, 1], [1, 0, 1]) == 1.0
    assert stats.mcnemar_exact([1, 0], [0, 1]) == 1.0


def test_mcnemar_large_sample_matches_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    a, b = rng.random(5000) > 0.2, rng.random(5000) > 0.25
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    expected = scipy_stats.binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue
    assert stats.mcnemar_exact(a, b) == pytest.approx(expected, rel=1e-9)


def f1_metric(tp: int, fp: int, fn: int) -> float:
    import torch

    from bakeoff.tasks.metrics import f1_from_counts

    return float(f1_from_counts(*(torch.tensor(float(v)) for v in (tp, fp, fn)), stat="f1"))


def test_f1_from_counts_hand_values():
    assert stats.f1_from_counts(np.array([4.0, 1.0, 2.0])) == pytest.approx(8 / 11)
    # nothing to find, none found: 0, as the logged metric (tasks.metrics) and seqeval say
    assert stats.f1_from_counts(np.array([0.0, 0.0, 0.0])) == 0.0
    assert stats.f1_from_counts(np.zeros(3)) == f1_metric(0, 0, 0)
    assert stats.f1_from_counts(np.array([0.0, 2.0, 1.0])) == 0.0
    rows = [[2, 0, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1]]  # Σ 4, 1, 2
    assert stats.statistic_of(rows, stats.f1_from_counts) == pytest.approx(8 / 11)
    assert stats.statistic_of([0.0, -1.0, -0.25, 0.0]) == pytest.approx(-0.3125)  # mean score


def test_bootstrap_of_regression_scores():
    a = -np.tile([0.0, 0.0, 0.0, 1.0], 50)  # negative squared errors, mean -0.25
    b = -np.tile([0.25, 0.25, 0.0, 0.0], 50)  # mean -0.125
    p = stats.paired_bootstrap(a, b)
    assert p < 0.05 and p == stats.paired_bootstrap(b, a)
    assert stats.paired_bootstrap(a, a) == 1.0


def test_bootstrap_of_f1_counts():
    a = np.tile([[2, 0, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1]], (50, 1))  # F1 8/11
    b = np.tile([[2, 0, 0], [0, 1, 1], [0, 0, 1], [1, 0, 1]], (50, 1))  # F1 6/10
    p = stats.paired_bootstrap(a, b, statistic=stats.f1_from_counts)
    assert p == pytest.approx(2 / 10_001)  # b is lower in every resample that differs
    assert stats.paired_bootstrap(a, a, statistic=stats.f1_from_counts) == 1.0
    # the same F1 from other counts: no observed difference
    assert stats.paired_bootstrap([[4, 1, 2]], [[8, 2, 4]], statistic=stats.f1_from_counts) == 1.0
    with pytest.raises(ValueError):
        stats.paired_bootstrap(a, b[:, :2], statistic=stats.f1_from_counts)


def exact_bootstrap_p(differences) -> float:
    """The p-value the bootstrap estimates, by enumerating every one of the n^n resamples."""
    import itertools

    d = np.asarray(differences, dtype=float)
    n = len(d)
    sums = np.array([d[list(rows)].sum() for rows in itertools.product(range(n), repeat=n)])
    observed = d.sum()
    at_or_beyond_zero = np.count_nonzero(sums <= 0 if observed > 0 else sums >= 0)
    return min(1.0, 2 * at_or_beyond_zero / len(sums))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([1, 1, 0, 1, 0, 1], [0, 1, 1, 1, 0, 0]),  # a ahead by 1 of 6
        ([1, 0, 1, 1, 0, 1], [0, 1, 0, 1, 0, 0]),  # a ahead by 2 of 6
        ([0.0, -1.0, -0.25, 0.5, 0.0], [-0.25, 0.0, 0.0, 0.0, -1.0]),  # scores, not 0/1
    ],
)
def test_bootstrap_p_matches_exact_enumeration_in_mid_range(a, b):
    """Mid-range p-values: resamples with no difference (exactly zero) count as not beyond it."""
    exact = exact_bootstrap_p(np.subtract(a, b))
    assert 0.1 < exact < 0.9
    p = stats.paired_bootstrap(a, b, n_resamples=40_000)
    assert p == pytest.approx(exact, abs=0.015)  # Monte Carlo error: ~0.005 at 40,000 resamples
    assert stats.paired_bootstrap(b, a, n_resamples=40_000) == pytest.approx(exact, abs=0.015)


def test_bootstrap_p_on_the_same_resamples_counted_independently():
    """The 100-example pair above (3 vs 1 discordant): p recounted from the same draws."""
    a = np.r_[np.ones(3), np.zeros(1), np.ones(96)]
    b = np.r_[np.zeros(3), np.ones(1), np.ones(96)]
    rows = np.random.default_rng(stats.BOOTSTRAP_SEED).integers(0, 100, size=(10_000, 100))
    deltas = [a[r].mean() - b[r].mean() for r in rows]
    not_above_zero = sum(1 for d in deltas if d <= 1e-12)  # a tie (delta 0) counts
    expected = 2 * (not_above_zero + 1) / 10_001
    # mid-range (0.448), and the ties at zero matter: without them p would be 0.187
    assert 0.3 < expected < 0.6
    assert stats.paired_bootstrap(a, b) == pytest.approx(expected, rel=1e-12)
