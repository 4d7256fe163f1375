"""Every metric of every task kind against scikit-learn / scipy / seqeval, on random predictions
and on the degenerate cases where a metric's denominator is 0 (one class predicted, one class
present, all correct, all wrong, no entities, constant regression predictions), and the logged
loss against a true example-weighted mean."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn import metrics as skm

from bakeoff.tasks.classification import Classification
from bakeoff.tasks.metrics import loss_meter
from bakeoff.tasks.multilabel import MultiLabel
from bakeoff.tasks.regression import Regression
from bakeoff.tasks.token_classification import TokenClassification

MONITOR = {"metric": "val/x", "mode": "max"}
SEEDS = range(6)


def computed(task, label_names, preds, target, batches: int = 3) -> dict[str, float]:
    """The task's metric collection fed in `batches` uneven batches, as a TaskModule feeds it."""
    metrics = task.metrics(label_names, validate=True)
    cuts = np.linspace(0, len(target), batches + 1).astype(int)
    cuts[1] = max(1, cuts[1] // 2)  # uneven batch sizes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            if b > a:
                metrics.update(preds[a:b], target[a:b])
        return {k: float(v) for k, v in metrics.compute().items()}


def close(ours: dict[str, float], reference: dict[str, float], case: str) -> None:
    for name, want in reference.items():
        got = ours[name]
        same = (math.isnan(want) and math.isnan(got)) or abs(got - want) <= 1e-5
        assert same, f"{case}: {name} = {got}, reference {want}"


# -- single-label classification ----------------------------------------------------------------
CLASS_METRICS = [
    *("acc", "f1_macro", "precision_macro", "recall_macro", "mcc", "f1", "precision", "recall")
]


def classification_cases(rng: np.random.Generator, k: int, n: int):
    y = rng.integers(0, k, n)
    yield "random", y, rng.integers(0, k, n)
    yield "one class predicted", y, np.full(n, rng.integers(0, k))
    one = np.full(n, rng.integers(0, k))
    yield "one class present", one, rng.integers(0, k, n)
    yield "one class present, predicted", one, one.copy()
    yield "all correct", y, y.copy()
    yield "all wrong", y, (y + 1) % k


def sklearn_classification(y, p, k: int) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        macro = {"average": "macro", "zero_division": 0}
        pos = {"pos_label": 1, "average": "binary", "zero_division": 0}
        yb, pb = (y == k - 1).astype(int), (p == k - 1).astype(int)
        return {
            "acc": skm.accuracy_score(y, p),
            "f1_macro": skm.f1_score(y, p, **macro),
            "precision_macro": skm.precision_score(y, p, **macro),
            "recall_macro": skm.recall_score(y, p, **macro),
            "mcc": skm.matthews_corrcoef(y, p),
            "f1": skm.f1_score(yb, pb, **pos),
            "precision": skm.precision_score(yb, pb, **pos),
            "recall": skm.recall_score(yb, pb, **pos),
        }


@pytest.mark.parametrize("k", [2, 3, 5])
def test_classification_metrics_match_sklearn(k):
    task = Classification("classification", CLASS_METRICS, MONITOR)
    names = [f"c{i}" for i in range(k)]
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for case, y, p in classification_cases(rng, k, int(rng.integers(5, 60))):
            logits = torch.tensor(rng.normal(size=(len(y), k)), dtype=torch.float32)
            logits[torch.arange(len(y)), torch.tensor(p)] += 100.0  # argmax is p
            ours = computed(task, names, logits, torch.tensor(y))
            close(ours, sklearn_classification(y, p, k), f"k={k} seed={seed} {case}")


def test_mcc_is_zero_when_one_class_is_predicted():
    """The case that scored 0.072 on CoLA for a collapsed run: sklearn's and GLUE's MCC is 0."""
    task = Classification("classification", ["mcc"], MONITOR)
    y = torch.tensor([0, 1, 1, 0, 1, 1, 1, 0])
    logits = torch.zeros(8, 2)
    logits[:, 1] = 1.0
    assert computed(task, ["a", "b"], logits, y)["mcc"] == 0.0


# -- regression ---------------------------------------------------------------------------------
def regression_cases(rng: np.random.Generator, n: int):
    y = rng.normal(size=n)
    yield "random", y, rng.normal(size=n)
    yield "correlated", y, y + 0.3 * rng.normal(size=n)
    yield "all correct", y, y.copy()
    yield "anti-correlated", y, -y
    yield "constant predictions", y, np.full(n, 0.5)


def test_regression_metrics_match_scipy():
    task = Regression("regression", ["pearson", "spearman", "mse"], MONITOR)
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for case, y, p in regression_cases(rng, int(rng.integers(6, 60))):
            ours = computed(
                task, [], torch.tensor(p, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
            )
            constant = np.ptp(p) == 0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reference = {
                    # A correlation with a constant is undefined (scipy: nan); bakeoff scores it 0,
                    # as MCC's zero denominator: a collapsed model must not win a selection.
                    "pearson": 0.0 if constant else stats.pearsonr(y, p).statistic,
                    "spearman": 0.0 if constant else stats.spearmanr(y, p).statistic,
                    "mse": skm.mean_squared_error(y, p),
                }
            close(ours, reference, f"seed={seed} {case}")


# -- multi-label --------------------------------------------------------------------------------
ML_METRICS = [
    "f1_micro",
    "f1_macro",
    "precision_micro",
    "recall_micro",
    "precision_macro",
    "recall_macro",
    "map",
]


def multilabel_cases(rng: np.random.Generator, n: int, k: int):
    y = rng.integers(0, 2, (n, k))
    scores = rng.uniform(size=(n, k))
    yield "random", y, scores
    yield "all correct", y, np.where(y == 1, 0.9, 0.1)
    yield "all wrong", y, np.where(y == 1, 0.1, 0.9)
    yield "nothing predicted", y, np.full((n, k), 0.2) + 0.01 * scores
    empty = y.copy()
    empty[:, 0] = 0
    yield "a label never present", empty, scores
    yield "no labels at all", np.zeros((n, k), dtype=int), scores


def sklearn_multilabel(y, scores) -> dict[str, float]:
    p = (scores > 0.5).astype(int)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ML_METRICS[:-1]:
            stat, average = name.split("_")
            fn = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}
            out[name] = fn[stat](y, p, average=average, zero_division=0)
        # macro AP; a label without a positive example scores 0 (sklearn warns and gives 0 too
        # in the per-label form below; its macro form would drop the label).
        aps = [
            skm.average_precision_score(y[:, j], scores[:, j]) if y[:, j].any() else 0.0
            for j in range(y.shape[1])
        ]
    out["map"] = float(np.mean(aps))
    return out


def test_multilabel_metrics_match_sklearn():
    task = MultiLabel("multilabel", ML_METRICS, MONITOR)
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        k = int(rng.integers(2, 6))
        names = [f"l{i}" for i in range(k)]
        for case, y, scores in multilabel_cases(rng, int(rng.integers(5, 50)), k):
            s = torch.tensor(scores, dtype=torch.float32)
            ours = computed(task, names, s, torch.tensor(y))
            close(ours, sklearn_multilabel(y, scores), f"seed={seed} k={k} {case}")


# -- token classification (NER) -----------------------------------------------------------------
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def ner_cases(rng: np.random.Generator, n: int):
    lengths = rng.integers(1, 9, n)
    gold = [list(rng.integers(0, len(TAGS), m)) for m in lengths]
    yield "random", gold, [list(rng.integers(0, len(TAGS), m)) for m in lengths]
    yield "all correct", gold, [list(g) for g in gold]
    yield "no entities predicted", gold, [[0] * m for m in lengths]
    yield "no entities at all", [[0] * m for m in lengths], [[0] * m for m in lengths]
    yield "no gold entities", [[0] * m for m in lengths], gold


def padded(seqs: list[list[int]], width: int, fill: int) -> torch.Tensor:
    return torch.tensor([list(s) + [fill] * (width - len(s)) for s in seqs])


def test_token_metrics_match_seqeval():
    from seqeval import metrics as sq

    task = TokenClassification(
        "token_classification", ["f1", "precision", "recall", "acc"], MONITOR
    )
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for case, gold, pred in ner_cases(rng, int(rng.integers(3, 20))):
            width = max(map(len, gold))
            ours = computed(task, TAGS, padded(pred, width, 0), padded(gold, width, -100))
            g = [[TAGS[i] for i in s] for s in gold]
            p = [[TAGS[i] for i in s] for s in pred]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reference = {
                    "f1": sq.f1_score(g, p, zero_division=0),
                    "precision": sq.precision_score(g, p, zero_division=0),
                    "recall": sq.recall_score(g, p, zero_division=0),
                    "acc": sq.accuracy_score(g, p),
                }
            close(ours, reference, f"seed={seed} {case}")


# -- the loss -----------------------------------------------------------------------------------
def test_loss_is_an_example_weighted_mean():
    """`update(1.0, weight=64)` then `update(10.0, weight=8)` is 2.0 (torchmetrics 1.9.0's
    MeanMetric(nan_strategy="disable") gives 5.5: it drops the weights)."""
    meter = loss_meter()
    meter.update(torch.tensor(1.0), weight=64)
    meter.update(torch.tensor(10.0), weight=8)
    assert float(meter.compute()) == pytest.approx(2.0)
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        values, weights = rng.normal(size=7), rng.integers(1, 65, 7)
        meter = loss_meter()
        for v, w in zip(values, weights, strict=True):
            meter.update(torch.tensor(v, dtype=torch.float32), weight=int(w))
        assert float(meter.compute()) == pytest.approx(np.average(values, weights=weights))
