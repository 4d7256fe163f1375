"""Classical text baselines fitted by scikit-learn: TF-IDF + logistic regression, majority class.

A model config with an `estimator` (instead of a Lightning backbone) is fitted by
`bakeoff.runs.classical`, inside the one run path (`bakeoff.runs.train` hands its record and
loggers over): the data config gives the same train/val/test split as for a transformer (the
texts as they are instead of token ids), the task's own metric code scores every split, and the
test pass writes the same predictions file, so a baseline's leaderboard row gets the same
significance test as a fine-tuned model's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from omegaconf import DictConfig

from bakeoff.data.base import TaskData
from bakeoff.data.raw import RawSplit
from bakeoff.errors import ConfigError

log = logging.getLogger(__name__)


# -- estimators -------------------------------------------------------------------------------
class SklearnTextClassifier:
    """A scikit-learn classifier over raw texts, its outputs in the run's class order."""

    model: Any = None  # the fitted scikit-learn estimator (a Pipeline or a classifier)

    def make(self, seed: int):
        raise NotImplementedError

    def fit(self, texts: Sequence[str], targets: Sequence[int], num_classes: int, seed: int):
        self.num_classes = num_classes
        self.model = self.make(seed).fit(list(texts), np.asarray(targets))
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(examples, num_classes) probabilities; a class absent from the training split gets 0."""
        fitted = self.model.predict_proba(list(texts))
        probs = np.zeros((len(texts), self.num_classes))
        probs[:, self.model.classes_] = fitted
        return probs

    def n_params(self) -> int:
        """The fitted coefficients (what the leaderboard's params column counts)."""
        raise NotImplementedError

    def flops_per_sample(self, texts: Sequence[str]) -> float | None:
        raise NotImplementedError


class TfidfLogisticRegression(SklearnTextClassifier):
    """TF-IDF of word 1..`ngram_max`-grams (fitted on the training texts) + L2 logistic regression.

    Params are the regression's coefficients and intercepts; the vocabulary and IDF weights are
    fitted too, but they are a lookup table, not coefficients. FLOPs per sample count the linear
    layer on the sparse TF-IDF vector (a multiply and an add per non-zero and output row), as the
    transformers' FLOPs count their matrix products; tokenizing and hashing are not FLOPs.
    """

    def __init__(
        self,
        ngram_max: int = 2,
        min_df: int = 1,
        max_features: int | None = None,
        sublinear_tf: bool = False,
        lowercase: bool = True,
        C: float = 1.0,
        max_iter: int = 1000,
        class_weight: str | None = None,
    ) -> None:
        if ngram_max < 1:
            raise ConfigError(f"model.estimator.ngram_max must be >= 1, got {ngram_max}")
        if not C > 0:
            raise ConfigError(f"model.estimator.C must be > 0, got {C}")
        self.vectorizer_options = {
            "ngram_range": (1, int(ngram_max)),
            "min_df": min_df,
            "max_features": max_features,
            "sublinear_tf": sublinear_tf,
            "lowercase": lowercase,
        }
        self.regression_options = {"C": C, "max_iter": max_iter, "class_weight": class_weight}

    def make(self, seed: int):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        return Pipeline(
            [
                ("tfidf", TfidfVectorizer(**self.vectorizer_options)),
                ("lr", LogisticRegression(**self.regression_options, random_state=seed)),
            ]
        )

    def n_params(self) -> int:
        lr = self.model.named_steps["lr"]
        return int(lr.coef_.size + lr.intercept_.size)

    def flops_per_sample(self, texts: Sequence[str]) -> float | None:
        features = self.model.named_steps["tfidf"].transform(list(texts))
        rows = self.model.named_steps["lr"].coef_.shape[0]
        return 2.0 * features.nnz * rows / max(1, features.shape[0])


class MajorityClass(SklearnTextClassifier):
    """Predicts the most frequent training class for every text (scikit-learn's DummyClassifier,
    `prior` strategy: its probabilities are the training class shares, so the loss is finite).

    Params: the class shares it learned. FLOPs per sample: None, it does no arithmetic per example.
    """

    def make(self, seed: int):
        from sklearn.dummy import DummyClassifier

        return DummyClassifier(strategy="prior", random_state=seed)

    def n_params(self) -> int:
        return int(self.model.class_prior_.size)

    def flops_per_sample(self, texts: Sequence[str]) -> float | None:
        return None


# -- data -------------------------------------------------------------------------------------
@dataclass
class TextSplit:
    """One split's texts and targets, in the split's example order (what `index` counts)."""

    texts: list[str]
    targets: list[int]

    def __len__(self) -> int:
        return len(self.targets)


class RawTextData(TaskData):
    """A text data config's splits with the texts as they are: what a classical model reads.

    The split (validation share, limits, folds) is the TaskData's own, so every row of a sweep
    is scored on the same examples. The tokenizer options of the text config do not apply here.
    """

    def __init__(
        self,
        *args,
        model_name: str = "",
        max_length: int | None = None,
        group_by_length: bool = False,
        cache_dir: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.model_name = model_name

    def make_dataset(self, split: RawSplit, targets, indices, train: bool) -> TextSplit:
        texts = [split.items[int(i)] for i in indices]
        if texts and not isinstance(texts[0], str):
            kind = "sentence pairs" if isinstance(texts[0], tuple) else type(texts[0]).__name__
            raise ConfigError(
                f"model={self.model_name} reads single texts; data={self.name} gives {kind}"
            )
        return TextSplit(texts=texts, targets=[targets[int(i)] for i in indices])

    def probe_texts(self, n: int = 8) -> list[str]:
        """The first n validation texts (for FLOP counting, as `probe_batch` for a backbone)."""
        return self.datasets["val"].texts[:n]


def text_data(cfg: DictConfig, task) -> RawTextData:
    """The run's data config built as RawTextData for the run's Task; a clear error for data it
    cannot read."""
    from hydra.utils import get_class
    from omegaconf import OmegaConf

    from bakeoff.data.text import TextData
    from bakeoff.tasks.classification import Classification
    from bakeoff.utils.build import build

    model = cfg.model.name
    if not issubclass(get_class(cfg.data._target_), TextData):
        raise ConfigError(
            f"model={model} is a text classifier; data={cfg.data.name} is not text data "
            f"({cfg.data._target_})"
        )
    if not isinstance(task, Classification):
        raise ConfigError(
            f"model={model} does single-label classification; task={cfg.task.name} is another "
            "kind (use a fine-tuned backbone for it)"
        )
    options = cast(dict[str, Any], OmegaConf.to_container(cfg.data, resolve=True))
    options["_target_"] = f"{RawTextData.__module__}.{RawTextData.__qualname__}"
    return build(options, task=task, model_name=model)
