"""Multi-label classification: labels, and metrics against sklearn and by hand."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch

from bakeoff.errors import ConfigError, DataError
from bakeoff.tasks.multilabel import MultiLabel
from tests.helpers.multilabel import (
    make_task,
    metrics_from_predictions,
)

# -- labels -----------------------------------------------------------------------------------------


def test_a_rows_labels_come_as_lists_strings_or_arrays():
    task = make_task()
    names = ["a", "b", "c"]
    labels = [["b", "a"], "c,a", "", np.array(["c"]), "['a', 'b']", ["a", "a"], " b , c "]
    assert task.encode(labels, names, "the train split") == [
        [1, 1, 0],
        [1, 0, 1],
        [0, 0, 0],
        [0, 0, 1],
        [1, 1, 0],
        [1, 0, 0],
        [0, 1, 1],
    ]
    assert make_task(separator="|").label_set("x|y,z") == ["x", "y,z"]
    assert task.stratify([[1.0, 0.0]]) is None


def test_label_names_sorted_union_unless_given():
    task = make_task()
    assert task.label_names([["pear", "fig"], "kiwi,fig", ""], None) == ["fig", "kiwi", "pear"]
    assert task.label_names([["pear"]], ["pear", "apple"]) == ["pear", "apple"]
    with pytest.raises(DataError, match="no labels"):
        task.label_names(["", []], None)


def test_unknown_labels_name_the_split_and_the_label():
    task = make_task()
    with pytest.raises(DataError) as info:
        task.encode([["a"], ["a", "plum"]], ["a", "b"], "the test split")
    assert "the test split" in str(info.value) and "'plum' (row 1)" in str(info.value)


def test_options_are_checked():
    with pytest.raises(ConfigError, match="threshold"):
        make_task(threshold=1.5)
    with pytest.raises(ConfigError, match="separator"):
        make_task(separator="")
    with pytest.raises(ConfigError, match="acc"):
        MultiLabel(name="multilabel", metrics=["acc"], monitor={"metric": "val/map"})


def test_batches_stack_float_targets_and_unlabeled_placeholders():
    task = make_task()
    assert task.collate_labels([[1.0, 0.0], [0.0, 1.0]], None).dtype == torch.float32
    assert task.collate_labels([task.placeholder()] * 3, None).shape == (3, 0)
    outputs = torch.tensor([[2.0, -2.0]])
    loss = task.loss(outputs, torch.tensor([[1.0, 0.0]]))
    assert loss.item() == pytest.approx(-math.log(1 / (1 + math.exp(-2.0))), rel=1e-6)


# -- metrics ----------------------------------------------------------------------------------------

# Six examples, four labels, threshold 0.5. By hand: tp=8 fp=1 fn=3 over all labels; per label
# (tp, fp, fn) a (3,0,0) b (2,0,1) c (2,0,1) d (1,1,1) -> F1 1, .8, .8, .5; average precision
# a 1, b 1, c (1/1 + 2/2 + 3/4)/3, d (1/2 + 2/3)/2.
TARGETS = [[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 0, 1], [0, 0, 1, 0], [1, 0, 0, 1], [0, 1, 1, 0]]


PROBS = [
    [0.9, 0.2, 0.6, 0.1],
    [0.4, 0.7, 0.3, 0.2],
    [0.8, 0.45, 0.1, 0.55],
    [0.3, 0.1, 0.25, 0.6],
    [0.6, 0.3, 0.2, 0.35],
    [0.1, 0.8, 0.7, 0.05],
]


BY_HAND = {
    "f1_micro": 2 * 8 / (2 * 8 + 1 + 3),
    "f1_macro": (1 + 0.8 + 0.8 + 0.5) / 4,
    "precision_micro": 8 / 9,
    "recall_micro": 8 / 11,
    "map": (1 + 1 + (1 + 1 + 3 / 4) / 3 + (1 / 2 + 2 / 3) / 2) / 4,
}


def task_metrics(task: MultiLabel, probs, targets, names, batch: int = 4) -> dict[str, float]:
    """The task's own metric collection fed logits in batches, as a test epoch does."""
    collection = task.metrics(names, validate=True)
    p = torch.tensor(probs, dtype=torch.float64)
    logits = torch.log(p / (1 - p)).float()
    y = torch.tensor(targets, dtype=torch.float32)
    for start in range(0, len(y), batch):
        collection.update(
            *task.metric_inputs(logits[start : start + batch], y[start : start + batch])
        )
    return {k: float(v) for k, v in collection.compute().items()}


def test_metrics_match_hand_computation_and_sklearn():
    task = make_task()
    got = task_metrics(task, PROBS, TARGETS, list("abcd"))
    assert got == pytest.approx(BY_HAND, abs=1e-6)
    y, s = np.array(TARGETS), np.array(PROBS)
    assert got == pytest.approx(metrics_from_predictions(y, (s > 0.5).astype(int), s), abs=1e-6)


def test_threshold_option_moves_the_f1_metrics_not_map():
    y, s = np.array(TARGETS), np.array(PROBS)
    got = task_metrics(make_task(threshold=0.3), PROBS, TARGETS, list("abcd"))
    assert got == pytest.approx(metrics_from_predictions(y, (s > 0.3).astype(int), s, 0.3))
    assert got["map"] == pytest.approx(BY_HAND["map"], abs=1e-6)
    assert got["f1_micro"] != pytest.approx(BY_HAND["f1_micro"])


def test_a_label_without_positives_scores_zero_in_the_macro_means():
    """Macro F1 counts it as 0 (sklearn's zero_division=0), and its average precision is 0 in
    mAP, as in sklearn's average_precision_score (torchmetrics warns)."""
    y = np.array(TARGETS)
    y[:, 3] = 0
    s = np.array(PROBS)
    s[:, 3] = np.minimum(s[:, 3], 0.4)  # never predicted either
    with pytest.warns(UserWarning, match="No positive samples"):
        got = task_metrics(make_task(), s.tolist(), y.tolist(), list("abcd"))
    assert got == pytest.approx(metrics_from_predictions(y, (s > 0.5).astype(int), s), abs=1e-6)
    assert got["map"] == pytest.approx((1 + 1 + (1 + 1 + 3 / 4) / 3 + 0) / 4, abs=1e-6)


def test_prediction_rows_carry_label_sets_probabilities_and_counts():
    task = make_task()
    p = torch.tensor(PROBS)
    gathered = [
        {"index": torch.tensor([3, 4, 5]), "target": torch.tensor(TARGETS[3:]), "output": p[3:]},
        {"index": torch.tensor([0, 1, 2]), "target": torch.tensor(TARGETS[:3]), "output": p[:3]},
    ]
    rows = task.rows(gathered, list("abcd"))
    assert [r["index"] for r in rows] == list(range(6))
    assert list(rows[0]) == ["index", "label", "pred", "prob_a", "prob_b", "prob_c", "prob_d"] + [
        "tp",
        "fp",
        "fn",
    ]
    assert rows[2]["label"] == '["a", "b", "d"]' and rows[2]["pred"] == '["a", "d"]'
    assert (rows[2]["tp"], rows[2]["fp"], rows[2]["fn"]) == (2, 0, 1)
    assert rows[3]["pred"] == '["d"]' and (rows[3]["tp"], rows[3]["fp"], rows[3]["fn"]) == (0, 1, 1)
    assert [sum(r[k] for r in rows) for k in ("tp", "fp", "fn")] == [8, 1, 3]
    unlabeled = task.rows(
        [{"index": torch.arange(6), "target": torch.zeros(6, 0), "output": p}],
        list("abcd"),
        labeled=False,
    )
    assert list(unlabeled[0]) == ["index", "pred", "prob_a", "prob_b", "prob_c", "prob_d"]


def test_label_sets_with_spaces_and_separators_read_back_losslessly(tmp_path):
    """Labels holding a space, the separator, quotes: the predictions file's label sets read back
    as the same lists (by the task and by the significance code)."""
    from bakeoff.results.metric_stats import label_set
    from bakeoff.runs.common import write_rows

    names = ["sci fi", "drama,comedy", 'say "hi"', "é"]
    task = make_task(separator=",")
    target = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    output = torch.tensor([[3.0, -3.0, 3.0, -3.0], [-3.0, 3.0, 3.0, 3.0], [-3.0] * 4])
    rows = task.rows([{"index": torch.arange(3), "target": target, "output": output}], names)
    path = tmp_path / "test_predictions.csv"
    write_rows(path, rows)
    read = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [task.label_set(r["label"]) for r in read] == [names[:2], names[2:], []]
    assert [task.label_set(r["pred"]) for r in read] == [[names[0], names[2]], names[1:], []]
    assert [label_set(r["label"]) for r in read] == [names[:2], names[2:], []]
