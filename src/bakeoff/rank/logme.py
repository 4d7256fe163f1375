"""LogME: the log of the maximum evidence of a Bayesian linear model on frozen features.

Written from the paper (You, Liu, Wang, Long, "LogME: Practical Assessment of Pre-trained Models
for Transfer Learning", ICML 2021, Sec. 4 and Algorithm 1), whose model and updates are MacKay's
evidence framework for linear regression (Bishop, "Pattern Recognition and Machine Learning",
2006, Sec. 3.5, Eqs. 3.86 and 3.91-3.95). No code was taken from any implementation.

For features F (n x D, one row f_i per example) and one target column y (n values), the model is
a prior w ~ N(0, alpha^-1 I) and y_i ~ N(w^T f_i, beta^-1). Its evidence integrates w out:

    p(y | F, alpha, beta) = integral of p(w | alpha) p(y | F, w, beta) dw

with the closed form (the paper's log evidence L(alpha, beta); Bishop Eq. 3.86)

    L = n/2 log beta + D/2 log alpha - n/2 log(2 pi)
        - beta/2 ||F m - y||^2 - alpha/2 m^T m - 1/2 log |A|,
    A = alpha I + beta F^T F,   m = beta A^-1 F^T y.

L is maximised over alpha and beta by the fixed-point iteration (Algorithm 1; Bishop 3.91-3.95)

    gamma = sum_i beta s_i / (alpha + beta s_i),   alpha <- gamma / m^T m,
    beta <- (n - gamma) / ||F m - y||^2,

where s_i are the eigenvalues of F^T F (squared singular values of F). One SVD of F, shared by
every target column, makes each iteration O(n D): with F = U S V^T and z = U^T y, m^T m,
||F m - y||^2 and log |A| are sums over the singular values (`log_evidence`).

LogME is max L / n, averaged over the target columns: for classification the columns are the
one-hot indicators of the classes; for regression the targets themselves. Higher is better: the
features explain the targets with a simpler linear model.
"""

from __future__ import annotations

import math

import numpy as np

MAX_ITERATIONS = 100
TOLERANCE = 1e-5  # relative change of alpha / beta at which the fixed point is reached


class Spectrum:
    """One SVD of the features, reused for every target column."""

    def __init__(self, features: np.ndarray) -> None:
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or len(f) < 2:
            raise ValueError(f"LogME needs a 2-d feature matrix of >= 2 rows, got {f.shape}")
        self.n, self.dim = f.shape
        u, s, _ = np.linalg.svd(f, full_matrices=False)
        keep = s > s.max() * max(self.n, self.dim) * np.finfo(np.float64).eps if s.size else s
        self.u, self.s2 = u[:, keep], s[keep] ** 2  # the column space of F, eigenvalues of F^T F


def _terms(spec: Spectrum, z: np.ndarray, y_sq: float, alpha: float, beta: float):
    """(gamma, m^T m, ||F m - y||^2) for one column at alpha, beta (all via the spectrum)."""
    denom = alpha + beta * spec.s2
    gamma = float(np.sum(beta * spec.s2 / denom))
    m_sq = float(np.sum(beta**2 * spec.s2 * z**2 / denom**2))
    # F m = U diag(beta s2 / denom) z: inside the column space the residual is alpha z / denom;
    # outside it, the part of y that F cannot reach at all.
    outside = max(y_sq - float(np.sum(z**2)), 0.0)
    residual = float(np.sum((alpha * z / denom) ** 2)) + outside
    return gamma, m_sq, residual


def log_evidence(spec: Spectrum, y: np.ndarray, alpha: float, beta: float) -> float:
    """L(alpha, beta) of one target column (the closed form above), not divided by n."""
    y = np.asarray(y, dtype=np.float64)
    z = spec.u.T @ y
    _, m_sq, residual = _terms(spec, z, float(y @ y), alpha, beta)
    # log |A|: D eigenvalues alpha + beta s_i, of which D - rank have s_i = 0
    log_det = float(np.sum(np.log(alpha + beta * spec.s2))) + (spec.dim - spec.s2.size) * math.log(
        alpha
    )
    return (
        spec.n / 2 * math.log(beta)
        + spec.dim / 2 * math.log(alpha)
        - spec.n / 2 * math.log(2 * math.pi)
        - beta / 2 * residual
        - alpha / 2 * m_sq
        - log_det / 2
    )


def maximise(spec: Spectrum, y: np.ndarray) -> tuple[float, float, float]:
    """(max L / n, alpha, beta) of one column by the fixed-point updates."""
    y = np.asarray(y, dtype=np.float64)
    z = spec.u.T @ y
    y_sq = float(y @ y)
    alpha, beta = 1.0, 1.0
    for _ in range(MAX_ITERATIONS):
        gamma, m_sq, residual = _terms(spec, z, y_sq, alpha, beta)
        tiny = np.finfo(np.float64).tiny
        new_alpha = gamma / max(m_sq, tiny)
        new_beta = (spec.n - gamma) / max(residual, tiny)
        done = (
            abs(new_alpha - alpha) <= TOLERANCE * alpha and abs(new_beta - beta) <= TOLERANCE * beta
        )
        alpha, beta = new_alpha, new_beta
        if done:
            break
    return log_evidence(spec, y, alpha, beta) / spec.n, alpha, beta


def logme(features: np.ndarray, targets: np.ndarray, regression: bool = False) -> float:
    """LogME of `features` (n x D) for `targets`: class ids (n,) or, with `regression`, values
    (n,) or (n, k). The mean over target columns of max L / n; higher is better."""
    spec = Spectrum(features)
    t = np.asarray(targets)
    if regression:
        columns = t.astype(np.float64).reshape(len(t), -1)
    else:
        classes = np.unique(t)
        columns = (t[:, None] == classes[None, :]).astype(np.float64)
    if len(columns) != spec.n:
        raise ValueError(f"{spec.n} feature rows for {len(columns)} targets")
    return float(np.mean([maximise(spec, columns[:, k])[0] for k in range(columns.shape[1])]))
