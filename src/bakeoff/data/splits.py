"""Train/val/test index sets: stratified hold-out, stratified k-fold, and size limits.

The split depends only on the labels and `split_seed`, never on the run's seed, so every seed
and every backbone of a sweep is scored on the same validation examples.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import partial

import numpy as np

from bakeoff.errors import ConfigError


@dataclass(frozen=True)
class SplitIndices:
    train: np.ndarray  # indices into the train pool
    val: np.ndarray  # indices into the train pool, or into the given val split when `val_given`
    val_given: bool


def _limit(idx: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    if limit is None or limit >= len(idx):
        return idx
    if limit <= 0:
        raise ConfigError(f"data limits must be positive, got {limit}")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(idx, size=limit, replace=False))


def split_indices(
    stratify: np.ndarray | None,
    n_val_given: int | None,
    val_fraction: float,
    split_seed: int,
    folds: int | None = None,
    fold: int | None = None,
    limit_train: int | None = None,
    limit_val: int | None = None,
    n_train: int | None = None,
    cache_dir: str | None = None,
) -> SplitIndices:
    """Choose train and val examples.

    - `folds=k, fold=i`: k-fold over the train pool (plus nothing else: the test split is never
      touched); fold i is validation.
    - a given validation split (`n_val_given`) is used as is.
    - otherwise a `val_fraction` of the train pool becomes validation.
    Folds and hold-out are stratified on `stratify` (the task's key, e.g. the class); None (e.g.
    regression) splits at random. `cache_dir`: keep the drawn indices there (the read cache's
    folder), so that a later job need not import scikit-learn (which brings pandas and pyarrow:
    with the read cache, ~0.5 s of a job's start-up) to draw the same split again.
    """
    if n_train is None:
        assert stratify is not None, "n_train or stratify says how many examples there are"
        n = len(stratify)
    else:
        n = n_train
    if folds is not None:
        if fold is None or not 0 <= fold < folds:
            raise ConfigError(
                f"data.fold must be in 0..{folds - 1} when data.folds={folds}, got {fold}"
            )
    elif fold is not None:
        raise ConfigError("data.fold is set but data.folds is not: set data.folds=k for k-fold")
    elif n_val_given is None and not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"data.val_fraction must be in (0, 1), got {val_fraction}")
    if folds is None and n_val_given is not None:
        train, val, val_given = np.arange(n), np.arange(n_val_given), True
    else:
        draw = partial(_drawn, stratify, n, val_fraction, split_seed, folds, fold)
        train, val = (
            draw()
            if cache_dir is None
            else _kept(cache_dir, draw, stratify, n, (val_fraction, split_seed, folds, fold))
        )
        val_given = False
    return SplitIndices(
        train=_limit(np.sort(train), limit_train, split_seed),
        val=_limit(np.sort(val), limit_val, split_seed),
        val_given=val_given,
    )


def _drawn(
    stratify, n: int, val_fraction: float, split_seed: int, folds: int | None, fold: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) of the pool 0..n-1: fold `fold` of k, or a `val_fraction` hold-out."""
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    pool = np.arange(n)
    if folds is not None:
        kfold = StratifiedKFold if stratify is not None else KFold
        splitter = kfold(n_splits=folds, shuffle=True, random_state=split_seed)
        assert fold is not None  # checked by split_indices
        train, val = list(splitter.split(pool, stratify))[fold]
        return train, val
    train, val = train_test_split(
        pool, test_size=val_fraction, random_state=split_seed, stratify=stratify
    )
    return train, val


def _kept(cache_dir, draw, stratify, n: int, params: tuple) -> tuple[np.ndarray, np.ndarray]:
    """`draw()`, kept on disk under the hash of everything it depends on: the labels it
    stratifies on, the pool size, the settings, and scikit-learn's version (its algorithm)."""
    import hashlib
    from importlib.metadata import version
    from pathlib import Path

    from bakeoff.utils.sealed import read_sealed, write_sealed

    # "sealed": the file layout (bakeoff.utils.sealed), so older unsealed files are not met
    h = hashlib.sha256(repr(("sealed", n, params, version("scikit-learn"))).encode())
    if stratify is not None:
        labels = np.asarray(stratify)
        h.update(repr((labels.dtype.str, labels.shape)).encode())
        h.update(repr(labels.tolist()).encode() if labels.dtype == object else labels.tobytes())
    key = h.hexdigest()[:32]
    path = Path(cache_dir) / "read" / f"split-{key}.npz"
    kept = read_sealed(path, key, "split cache", _parse_split)
    if kept is not None:
        return kept
    train, val = draw()
    buf = io.BytesIO()
    np.savez(buf, train=train, val=val)
    write_sealed(path, key, buf.getvalue(), "split cache")  # a read-only cache: slower, not failed
    return train, val


def _parse_split(payload: bytes) -> tuple[np.ndarray, np.ndarray]:
    with np.load(io.BytesIO(payload)) as z:
        return z["train"], z["val"]


def label_vocabulary(labels) -> list[str]:
    """Sorted label names as strings: the class index order for the whole run."""
    return sorted({str(v) for v in labels}, key=lambda s: (len(s), s) if s.isdigit() else (0, s))
