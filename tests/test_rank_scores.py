"""LogME against its closed form and its expected behaviour; τ and top-k against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bakeoff.rank.logme import Spectrum, log_evidence, logme, maximise


def _dense_log_evidence(f: np.ndarray, y: np.ndarray, alpha: float, beta: float) -> float:
    """The paper's closed form computed with dense matrices (no SVD): A, m, |A| directly."""
    n, d = f.shape
    a = alpha * np.eye(d) + beta * f.T @ f
    m = beta * np.linalg.solve(a, f.T @ y)
    _, log_det = np.linalg.slogdet(a)
    return (
        n / 2 * math.log(beta)
        + d / 2 * math.log(alpha)
        - n / 2 * math.log(2 * math.pi)
        - beta / 2 * float(np.sum((f @ m - y) ** 2))
        - alpha / 2 * float(m @ m)
        - log_det / 2
    )


def _dense_evidence_by_gaussian(f: np.ndarray, y: np.ndarray, alpha: float, beta: float) -> float:
    """The evidence as the marginal density y ~ N(0, F F^T / alpha + I / beta)."""
    cov = f @ f.T / alpha + np.eye(len(y)) / beta
    return float(stats.multivariate_normal(mean=np.zeros(len(y)), cov=cov).logpdf(y))


@pytest.mark.parametrize("shape", [(40, 5), (12, 30)])  # n > D and n < D (rank-deficient F^T F)
def test_log_evidence_equals_the_closed_form_at_fixed_alpha_beta(shape):
    rng = np.random.default_rng(0)
    f = rng.normal(size=shape)
    y = rng.normal(size=shape[0])
    spec = Spectrum(f)
    for alpha, beta in [(0.5, 2.0), (3.0, 0.1)]:
        ours = log_evidence(spec, y, alpha, beta)
        assert ours == pytest.approx(_dense_log_evidence(f, y, alpha, beta), rel=1e-9)
        assert ours == pytest.approx(_dense_evidence_by_gaussian(f, y, alpha, beta), rel=1e-9)


def test_the_fixed_point_maximises_the_evidence():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(60, 8))
    y = f @ rng.normal(size=8) + 0.3 * rng.normal(size=60)
    spec = Spectrum(f)
    best, alpha, beta = maximise(spec, y)
    assert best * 60 == pytest.approx(log_evidence(spec, y, alpha, beta))
    for da, db in [(1.2, 1), (0.8, 1), (1, 1.2), (1, 0.8)]:  # any step away is lower
        assert log_evidence(spec, y, alpha * da, beta * db) < best * 60


def test_cleaner_features_score_higher_for_classification():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, size=300)
    onehot = np.eye(3)[labels]
    extra = rng.normal(size=(300, 5))

    def features(noise: float) -> np.ndarray:
        return np.hstack([onehot + noise * rng.normal(size=onehot.shape), extra])

    clean, noisy = logme(features(0.1), labels), logme(features(1.0), labels)
    assert clean > noisy
    # labels are only read as classes: names instead of ids give the same score
    names = np.array(["a", "b", "c"])[labels]
    f = features(0.3)
    assert logme(f, names) == pytest.approx(logme(f, labels))


def test_regression_cleaner_features_score_higher():
    rng = np.random.default_rng(3)
    y = rng.normal(size=200)
    clean = np.column_stack([y + 0.05 * rng.normal(size=200), rng.normal(size=(200, 3))])
    noisy = np.column_stack([y + 2.0 * rng.normal(size=200), rng.normal(size=(200, 3))])
    assert logme(clean, y, regression=True) > logme(noisy, y, regression=True)
    # two target columns: their mean
    both = logme(clean, np.column_stack([y, y]), regression=True)
    assert both == pytest.approx(logme(clean, y, regression=True))


def test_invariant_to_the_order_of_examples():
    rng = np.random.default_rng(4)
    f = rng.normal(size=(80, 6))
    labels = rng.integers(0, 2, size=80)
    order = rng.permutation(80)
    assert logme(f[order], labels[order]) == pytest.approx(logme(f, labels), rel=1e-10)
