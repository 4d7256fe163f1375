"""Raw examples as a source returns them, before any preparation: splits, their provenance, and
the label errors reported against it.

A split remembers where its examples came from (`RawSplit.path`, `lines`), so a label the task
rejects (`LabelError`) is reported as `file:line: message`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bakeoff.errors import DataError

if TYPE_CHECKING:
    import numpy as np

# What `data.on_bad_rows` may say about rows without a label, with an empty text, or with an
# image that cannot be decoded: drop them (counted, logged, recorded in results.json) or fail.
BAD_ROW_POLICIES = ("drop", "error")
BAD_ROW_REASONS = {
    "no_label": "without a label",
    "empty_text": "with an empty text",
    "unreadable_image": "with an unreadable image",
}


@dataclass
class RawSplit:
    items: (
        Sequence[Any] | np.ndarray
    )  # texts, image paths, arrays ... whatever the subclass understands
    labels: Sequence[Any]
    # Provenance, for error messages: the file (or data set) the examples came from, and per
    # example its 1-based line there (CSV/TSV/JSONL), or a list with one line per word (CoNLL
    # text files). None where lines mean nothing (Parquet, HF datasets): messages name the row.
    path: str | None = None
    lines: Sequence[Any] | None = None
    # Rows of the file that could not be used, by reason (`no_label`, `empty_text`,
    # `unreadable_image`): where each was ("line 7", "row 3", an image path).
    dropped: dict[str, list[str]] = field(default_factory=dict)

    def subset(self, indices: Sequence[int]) -> RawSplit:
        """These examples only, provenance kept."""
        pick = [int(i) for i in indices]
        return RawSplit(
            items=[self.items[i] for i in pick],
            labels=[self.labels[i] for i in pick],
            path=self.path,
            lines=None if self.lines is None else [self.lines[i] for i in pick],
        )

    def locate(self, example: int, token: int | None = None) -> str:
        """`path:line` of an example (or of one of its words), else `path, example i[, word j]`."""
        where = self.path or "the split"
        line = self.lines[example] if self.lines is not None else None
        if isinstance(line, (list, tuple)):  # one line per word
            line = line[token] if token is not None and token < len(line) else line[0]
            return f"{where}:{line}"
        if line is not None:
            return f"{where}:{line}" + (f" (word {token + 1})" if token is not None else "")
        return f"{where}, example {example}" + (f", word {token + 1}" if token is not None else "")


class LabelError(DataError):
    """A label a task cannot take, raised by `Task.encode` with its position (the example's index
    in the labels it was given, and the word's for word-level labels); `TaskData.setup` reports
    it as `file:line: message`."""

    def __init__(self, example: int, token: int | None, message: str) -> None:
        super().__init__(message)
        self.example, self.token, self.message = example, token, message


def check_word_labels(split: RawSplit) -> None:
    """Word-level labels: one per word of each example."""
    for i, (words, labels) in enumerate(zip(split.items, split.labels, strict=True)):
        if isinstance(words, str) or not isinstance(labels, (list, tuple)):
            continue  # check_items and encode name what is wrong here
        if len(words) != len(labels):
            raise DataError(
                f"{split.locate(i)}: {len(words)} words but {len(labels)} tags: "
                "each word needs exactly one tag"
            )


def carve(split: RawSplit, fraction: float, seed: int) -> tuple[RawSplit, RawSplit]:
    """(the rest, a seeded random `fraction` of the examples), each in the original order."""
    import numpy as np

    n = len(split.labels)
    held = np.zeros(n, dtype=bool)
    held[np.random.default_rng(seed).permutation(n)[: max(1, round(fraction * n))]] = True
    rest = split.subset(np.flatnonzero(~held).tolist())
    rest.dropped = split.dropped  # the file's unusable rows, counted once
    return rest, split.subset(np.flatnonzero(held).tolist())
