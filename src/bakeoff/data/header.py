"""Checks of a table's header that pandas would pass silently: a column named twice (pandas
renames the second `name.1` and a run reads the first), and a tab-separated file read as
comma-separated (one column whose name holds tabs)."""

from __future__ import annotations

import csv
from pathlib import Path


def duplicated_header(path: Path, encoding: str) -> str | None:
    """A column name the header of a CSV/TSV file gives twice (pandas renames the second
    `name.1`), else None."""
    sep = {".csv": ",", ".tsv": "\t"}.get(path.suffix.lower())
    if sep is None:
        return None
    with path.open(encoding=encoding, newline="") as f:
        header = next(csv.reader(f, delimiter=sep), [])
    seen: set[str] = set()
    for name in (h.strip() for h in header):
        if name in seen and name:
            return name
        seen.add(name)
    return None


def tab_hint(columns) -> str:
    """A hint when a file read as comma-separated is tab-separated (one column, tabs in it)."""
    if len(columns) == 1 and "\t" in str(columns[0]):
        return (
            " (the header holds tabs: the file is tab-separated; name it .tsv, which is read "
            "with tabs)"
        )
    return ""
