"""Token classification (NER, CoNLL-2003): one tag per word, BIO / IOB2 tags, entity-level F1.

Texts are lists of words; the tokenizer splits words into sub-tokens and the head reads the
backbone's per-token features. Each word's tag is the target of its **first** sub-token; the
other sub-tokens and the special tokens carry `ignore_index` (-100), as in the BERT paper.

A batch's `labels` tensor is (batch, width + 2 * words), three blocks side by side:
- `[:, :width]` the per-token targets the loss reads (width: the padded token length);
- then the gold tag id of every word (-100: padding, or no gold: prediction inputs);
- then the position of each word's first sub-token: -1 when the word has none (cut off by
  `data.max_length`, or a word the tokenizer makes nothing of), -100 for padding.
So metrics and test predictions are at word level, over all words of a sentence: a word without
a sub-token is predicted `O` (and so counts as a missed entity where it is part of one).

Metrics: `f1`, `precision`, `recall` over entities (micro, conlleval chunking as seqeval's
default mode) and `acc` over words. The predictions file has `index,label,pred` with
space-separated word tags and each sentence's entity `tp,fp,fn` (the significance statistic is
their F1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from bakeoff.data.raw import LabelError
from bakeoff.errors import ConfigError, DataError
from bakeoff.tasks.base import Task, in_example_order
from bakeoff.tasks.metrics import EntityF1, WordAccuracy, entity_counts

OUTSIDE = "O"
# "bio" is another name of IOB2; IOB1 (the original CoNLL-2003 files) starts an entity with I-
# and uses B- only between two adjacent entities of the same type.
SCHEMES = ("iob2", "bio", "iob1")


def word_predictions(outputs: Tensor, first: Tensor) -> Tensor:
    """The predicted tag id of each word: the argmax at its first sub-token, -1 where none."""
    ids = outputs.argmax(-1)
    at_first = ids.gather(1, first.clamp(min=0))
    return torch.where(first >= 0, at_first, torch.full_like(at_first, -1))


class TokenClassification(Task):
    """One tag per word. Options: `scheme` (iob2 = bio, or iob1) and `strict`: with strict, a tag
    sequence must be well-formed in the scheme (IOB2: `I-X` only after `B-X` or `I-X`), else
    the data fails with the file and line of the tag; without, such a tag is read as conlleval
    reads it (it starts an entity). Always an error: a tag that is not `O`, `B-<type>` or
    `I-<type>`, or not in the label set."""

    word_level = True

    def __init__(self, *args, scheme: str = "iob2", strict: bool = False, **kwargs) -> None:
        if scheme not in SCHEMES:
            raise ConfigError(f"task.scheme must be one of {list(SCHEMES)}, got '{scheme}'")
        self.scheme, self.strict = scheme, strict
        super().__init__(*args, **kwargs)

    # -- labels -------------------------------------------------------------------------------
    def check_items(self, items, where: str) -> None:
        if len(items) and not isinstance(items[0], (list, tuple)):
            raise DataError(
                f"task={self.name} labels words, but {where} has whole texts: give lists of words "
                "(a JSONL/Parquet list column such as CoNLL-2003's `tokens`, or data=conll_files)"
            )

    def label_names(self, train_labels, given) -> list[str]:
        """The source's order when it has one (HF ClassLabel, a checkpoint), else `O` then the
        train tags sorted by type, each type with both `B-` and `I-` (so either can be told)."""
        if given:
            return list(given)
        tags = {str(t) for seq in train_labels if isinstance(seq, (list, tuple)) for t in seq}
        kinds = {t[2:] for t in tags if t[:2] in ("B-", "I-") and len(t) > 2}
        tags |= {f"{prefix}-{kind}" for kind in kinds for prefix in "BI"}
        tags.discard(OUTSIDE)
        return [OUTSIDE, *sorted(tags, key=lambda t: (t[2:], t[:2]) if t[1:2] == "-" else (t, ""))]

    def encode(self, labels, label_names, where: str) -> list[list[int]]:
        to_id = {name: i for i, name in enumerate(label_names)}
        out = []
        for i, tags in enumerate(labels):
            if not isinstance(tags, (list, tuple)):
                raise LabelError(i, None, f"expected a list of tags (one per word), got {tags!r}")
            tags = [str(t) for t in tags]
            self.validate(tags, to_id, i)
            out.append([to_id[t] for t in tags])
        return out

    def validate(self, tags: list[str], to_id: dict[str, int], example: int) -> None:
        previous = OUTSIDE
        for j, tag in enumerate(tags):
            prefix, dash, kind = tag.partition("-")
            if tag != OUTSIDE and not (prefix in ("B", "I") and dash and kind):
                hint = " (tag ids need the data set's tag names)" if tag.isdigit() else ""
                raise LabelError(
                    example, j, f"tag '{tag}' is not O, B-<type> or I-<type> ({self.scheme}){hint}"
                )
            if tag not in to_id:
                raise LabelError(
                    example,
                    j,
                    f"tag '{tag}' is not in the label set {list(to_id)} (learned from the train "
                    "split, or given by the data set or checkpoint)",
                )
            if self.strict:
                same = previous != OUTSIDE and previous[2:] == kind
                if self.scheme == "iob1" and prefix == "B" and not same:
                    raise LabelError(
                        example,
                        j,
                        f"tag '{tag}' after '{previous}': in IOB1 (task.strict=true) B- only "
                        f"separates two adjacent {kind} entities; an entity starts with I-{kind}",
                    )
                if self.scheme != "iob1" and prefix == "I" and not same:
                    raise LabelError(
                        example,
                        j,
                        f"tag '{tag}' after '{previous}': in IOB2 (task.strict=true) an entity "
                        f"starts with B-{kind} (task.strict=false reads this I- as a start, as "
                        "conlleval does)",
                    )
            previous = tag

    def placeholder(self) -> int:
        """One word's target when there is no gold (prediction)."""
        return self.ignore_index

    def align(self, target: list[int], word_ids: Sequence[int]) -> tuple[list[int], ...]:
        """(per-token targets, word gold ids, first sub-token of each word): the first sub-token
        of a word gets its tag id, every other token `ignore_index`."""
        tokens = [self.ignore_index] * len(word_ids)
        first = [-1] * len(target)
        for position, word in enumerate(word_ids):
            if 0 <= word < len(first) and first[word] < 0:
                first[word] = position
                tokens[position] = target[word]
        return tokens, list(target), first

    # The batch keys a token task's targets travel under: per-token targets (what the loss reads),
    # and per word its gold tag id and the position of its first sub-token (what the metrics and
    # the predictions file read), each padded with `ignore_index`.
    label_keys = ("labels", "word_labels", "first_token")

    def collate_labels(self, targets: list[Any], width: int | None) -> dict[str, Tensor]:
        width = width or 0
        words = max((len(gold) for _, gold, _ in targets), default=0)
        out = {
            "labels": torch.full((len(targets), width), self.ignore_index, dtype=torch.long),
            "word_labels": torch.full((len(targets), words), self.ignore_index, dtype=torch.long),
            "first_token": torch.full((len(targets), words), self.ignore_index, dtype=torch.long),
        }
        for row, (tokens, gold, first) in enumerate(targets):
            out["labels"][row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
            out["word_labels"][row, : len(gold)] = torch.tensor(gold, dtype=torch.long)
            out["first_token"][row, : len(first)] = torch.tensor(first, dtype=torch.long)
        return out

    # -- model --------------------------------------------------------------------------------
    def features(self, backbone, batch: dict[str, Tensor]) -> Tensor:
        return backbone.token_features(batch)

    def loss(self, outputs: Tensor, targets: dict[str, Tensor]) -> Tensor:
        tokens = targets["labels"].reshape(-1)
        summed = F.cross_entropy(
            outputs.reshape(tokens.shape[0], -1),
            tokens,
            ignore_index=self.ignore_index,
            reduction="sum",
        )
        # the mean over labeled tokens; 0, not NaN, for a batch without any (empty sentences)
        return summed / (tokens != self.ignore_index).sum().clamp(min=1)

    def available_metrics(self) -> dict[str, Any]:
        def entity(stat: str):
            return lambda names, validate: EntityF1(names, stat, self.ignore_index)

        def accuracy(names, validate):
            o_index = list(names).index(OUTSIDE) if OUTSIDE in names else -1
            return WordAccuracy(o_index, self.ignore_index)

        return {
            "f1": entity("f1"),
            "precision": entity("precision"),
            "recall": entity("recall"),
            "acc": accuracy,
        }

    def metric_inputs(self, outputs: Tensor, targets: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        return word_predictions(outputs, targets["first_token"]), targets["word_labels"]

    # -- predictions --------------------------------------------------------------------------
    def gather(self, outputs: Tensor, batch: dict[str, Tensor]) -> dict[str, Any]:
        """Word-level gold and predicted tag ids per sentence (on the CPU)."""
        gold, first = batch["word_labels"], batch["first_token"]
        preds = word_predictions(outputs.detach(), first).cpu().tolist()
        n_words = (first != self.ignore_index).sum(1).tolist()
        return {
            "index": batch["index"].cpu(),
            "gold": [g[:n] for g, n in zip(gold.cpu().tolist(), n_words, strict=True)],
            "pred": [p[:n] for p, n in zip(preds, n_words, strict=True)],
        }

    def rows(self, gathered, label_names, labeled: bool = True) -> list[dict[str, Any]]:
        rows = []
        for batch in gathered:
            examples = zip(batch["index"].tolist(), batch["gold"], batch["pred"], strict=True)
            for index, gold, pred in examples:
                # A word cut off by data.max_length (or one the tokenizer made no token of) has
                # no prediction: it is written, and scored, as O.
                pred_tags = [label_names[p] if p >= 0 else OUTSIDE for p in pred]
                row: dict[str, Any] = {"index": index}
                if labeled:
                    row["label"] = [label_names[y] for y in gold]
                row["pred"] = pred_tags
                if labeled:
                    tp, fp, fn = entity_counts(row["label"], pred_tags)
                    row |= {"tp": tp, "fp": fp, "fn": fn}
                rows.append(row)
        return in_example_order(rows)
