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


# -- how a score is scored against a finished comparison ------------------------------------------
SCORE = [0.9, 0.1, 0.5, 0.7, 0.3]
TRUTH = [0.80, 0.60, 0.75, 0.70, 0.50]  # the score's order, except two swapped


def test_tau_and_weighted_tau_are_scipys():
    from bakeoff.rank.against import kendall, weighted

    assert kendall(SCORE, TRUTH) == pytest.approx(stats.kendalltau(SCORE, TRUTH).statistic)
    assert weighted(SCORE, TRUTH) == pytest.approx(stats.weightedtau(SCORE, TRUTH).statistic)
    assert kendall(SCORE, TRUTH) == pytest.approx(0.6)  # 8 concordant, 2 discordant pairs
    assert kendall(SCORE, SCORE) == pytest.approx(1.0)
    assert kendall(SCORE, [-t for t in SCORE]) == pytest.approx(-1.0)
    assert math.isnan(kendall([1.0], [2.0]))


def test_top_k_recall_and_regret_on_given_vectors():
    from bakeoff.rank.against import regret, top_k_recall

    # score's top 2: items 0, 3; truth's top 2: items 0, 2
    assert top_k_recall(SCORE, TRUTH, 1) == 1.0
    assert top_k_recall(SCORE, TRUTH, 2) == 0.5
    assert top_k_recall(SCORE, TRUTH, 3) == 1.0  # {0, 3, 2} both
    assert top_k_recall(SCORE, TRUTH, 10) == 1.0  # k capped at the number of backbones
    assert regret(SCORE, TRUTH) == 0.0
    assert regret([0, 1, 0, 0, 0], TRUTH) == pytest.approx(0.80 - 0.60)


def test_against_a_leaderboard_csv_when_the_records_are_gone(tmp_path):
    """A committed comparison keeps only leaderboard.csv: read it, match `model=` labels and
    `--map`ped ones, report per target (best per backbone; within each fine-tune setting)."""
    import pandas as pd

    from bakeoff.rank.against import against
    from bakeoff.rank.ranking import Ranking

    rows = [  # config, val, test
        ("model=a finetune=full", 0.70, 0.69),
        ("model=a finetune=linear_probe", 0.75, 0.74),
        ("model=b finetune=full", 0.60, 0.58),
        ("model=b finetune=linear_probe", 0.65, 0.66),
        ("+arm=c_random", 0.20, 0.22),
        ("+arm=tfidf", 0.50, 0.51),
    ]
    csv = pd.DataFrame(
        {
            "selected": [r[0] == "model=a finetune=linear_probe" for r in rows],
            "config": [r[0] for r in rows],
            "val/acc_mean": [r[1] for r in rows],
            "test/acc_mean": [r[2] for r in rows],
            "dataset": "d",
        }
    )
    (tmp_path / "cmp").mkdir()
    csv.to_csv(tmp_path / "cmp" / "leaderboard.csv", index=False)
    table = pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "model": ["b", "a", "c"],
            "logme": [0.3, 0.2, 0.1],
            "knn_acc": [0.6, 0.7, 0.2],
        }
    )
    ranking = Ranking(table, "logme", "acc", "d", "classification", ["logme", "knn"], 1.0, 1.0)
    result = against(ranking, [tmp_path / "cmp"], ["+arm=c_random=c"], top_k=2)
    assert f"read {tmp_path / 'cmp' / 'leaderboard.csv'} (records not there)" in result.lines[0]
    assert any("not ranked" in line and "+arm=tfidf" in line for line in result.lines)
    t = result.table.set_index(["target", "score"])
    best = t.loc[("best config per backbone", "knn")]  # a 0.75/0.74, b 0.65/0.66, c 0.20/0.22
    assert best["n"] == 3 and best["tau_val"] == pytest.approx(1.0) and best["top1"] == "a"
    assert bool(best["top1_is_selection"]) and best["regret_test"] == 0.0
    logme = t.loc[("best config per backbone", "logme")]  # b > a > c: a and b swapped
    assert logme["tau_test"] == pytest.approx(
        stats.kendalltau([0.2, 0.3, 0.1], [0.74, 0.66, 0.22]).statistic
    )
    assert logme["top1"] == "b" and not bool(logme["top1_is_selection"])
    assert logme["regret_test"] == pytest.approx(0.74 - 0.66) and logme["top2_recall"] == 1.0
    assert t.loc[("finetune=full", "logme")]["top1_recall"] == 0.0  # k < n: not trivially 1
    # within one fine-tune setting (two backbones each): a target of its own
    assert t.loc[("finetune=full", "logme")]["tau_val"] == pytest.approx(-1.0)
    assert any("only 2 backbones" in line for line in result.lines)
    # one ranked backbone (compare_text: one backbone, three strategies): nothing to score
    alone = Ranking(
        table[table["model"] == "a"], "logme", "acc", "d", "classification", ["logme"], 1.0, 1.0
    )
    result = against(alone, [tmp_path / "cmp"], top_k=2)
    assert result.table.empty and "nothing to score" in result.markdown
    assert any("1 ranked backbone(s): nothing to rank" in line for line in result.lines)


def test_an_image_split_has_the_same_features_key_in_every_process():
    """The key of an image split's cached features comes from its transform's repr: two builds
    of the same transform (two processes) must give the same key, or the cache never hits."""
    from torchvision import transforms as T

    from bakeoff.data.base import IndexedDataset
    from bakeoff.data.image import RGBTransform
    from bakeoff.models.feature_cache import inputs_digest

    def split(size: int):
        transform = RGBTransform(T.Compose([T.Resize(size), T.ToTensor()]))
        items = [np.full((8, 8), i, dtype=np.uint8) for i in range(4)]
        return IndexedDataset(items, [0, 1, 0, 1], np.arange(4), transform=transform)

    assert inputs_digest(split(32)) == inputs_digest(split(32))
    assert inputs_digest(split(32)) != inputs_digest(split(64))  # another transform, another key
