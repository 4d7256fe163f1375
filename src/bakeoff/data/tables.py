"""Reading a table file (CSV/TSV/JSONL/JSON/Parquet) into a DataFrame, every way it can be
unusable as one DataError, and where each of its records starts (for `file:line` messages)."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bakeoff.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

# pandas (with pyarrow, ~0.5 s) is imported where a table is read, not with this module: a job
# whose splits come from the read cache (bakeoff.data.read_cache) never needs it.

# extension -> reader(pandas, path, encoding); Parquet stores its own encoding (UTF-8).
READERS = {
    ".csv": lambda pd, p, encoding="utf-8": pd.read_csv(p, encoding=encoding),
    ".tsv": lambda pd, p, encoding="utf-8": pd.read_csv(p, sep="\t", encoding=encoding),
    ".jsonl": lambda pd, p, encoding="utf-8": pd.read_json(p, lines=True, encoding=encoding),
    ".json": lambda pd, p, encoding="utf-8": pd.read_json(p, encoding=encoding),
    ".parquet": lambda pd, p, encoding="utf-8": pd.read_parquet(p),
}


def not_decodable(key: str, path: Path, encoding: str, err: UnicodeDecodeError) -> DataError:
    where = f"{key}: {path} is not valid {encoding} text (byte {err.object[err.start]:#04x} at "
    if not key.startswith("data.source."):  # bakeoff-predict's input: no encoding option
        return DataError(f"{where}offset {err.start}): save the file as UTF-8")
    return DataError(
        f"{where}offset {err.start}): set data.source.encoding to the file's encoding, e.g. "
        "data.source.encoding=latin-1 (or cp1252, utf-16), or save the file as UTF-8"
    )


def read_table(path: Path, key: str, encoding: str = "utf-8") -> pd.DataFrame:
    """The table at `path` (format by extension); every way a file can be unusable is one
    DataError naming the file, the config key that named it and the fix."""
    import codecs

    import pandas as pd

    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{key}: cannot read '{path.name}': use one of {', '.join(READERS)}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(
            f"data.source.encoding='{encoding}' is not a known text encoding "
            "(e.g. utf-8, latin-1, cp1252, utf-16)"
        ) from None
    if path.stat().st_size == 0:
        raise DataError(f"{key}: {path} is empty (0 bytes): give a file with a header and rows")
    try:
        df = reader(pd, path, encoding)
    except UnicodeDecodeError as err:
        raise not_decodable(key, path, encoding, err) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{key}: {path} holds no table (only blank lines)") from None
    except PermissionError:
        raise DataError(f"{key}: cannot read {path}: permission denied") from None
    except (ValueError, OSError, pd.errors.ParserError) as err:  # malformed CSV/JSON/Parquet
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(
            f"{key}: cannot parse {path} as {path.suffix.lower()[1:].upper()}: {first}"
        ) from None
    from bakeoff.data.header import duplicated_header

    duplicated = duplicated_header(path, encoding)
    if duplicated is not None:
        raise DataError(
            f"{key}: {path} names the column '{duplicated}' twice in its header: rename one "
            "(otherwise only one of them would be read)"
        )
    if len(df) == 0:
        raise DataError(
            f"{key}: {path} has no rows"
            + (f" (only the header: {', '.join(map(str, df.columns))})" if len(df.columns) else "")
        )
    return df


def is_list(value) -> bool:
    return isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and hasattr(value, "ndim"))


def is_blank(value) -> bool:
    """A text that says nothing: missing, NaN, or only whitespace; an empty list of words."""
    if is_list(value):
        return len(value) == 0
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return isinstance(value, str) and not value.strip()


class FileLines(Sequence):
    """The 1-based line where each kept row's record starts in a CSV/TSV/JSONL file.

    Found by reading the file again on first use only (error messages are the only users), with
    the csv module for CSV/TSV, so quoted cells that span lines are counted right.
    """

    def __init__(self, path: Path, rows: Sequence[int], encoding: str = "utf-8") -> None:
        self.path, self.rows, self.encoding = path, list(rows), encoding
        self._starts: list[int] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i):
        if self._starts is None:
            self._starts = record_lines(self.path, self.encoding)
        return self._starts[self.rows[i]]


def record_lines(path: Path, encoding: str = "utf-8") -> list[int]:
    """The line each data record of a table file starts on (blank lines skipped, as pandas does)."""
    with path.open(newline="", encoding=encoding, errors="replace") as f:
        if path.suffix.lower() == ".jsonl":
            return [n for n, line in enumerate(f, 1) if line.strip()]
        reader = csv.reader(f, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        starts, end = [], 0
        for record in reader:
            if record:
                starts.append(end + 1)
            end = reader.line_num
        return starts[1:]  # the header is not a record
