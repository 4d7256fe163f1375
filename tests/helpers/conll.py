"""Small CoNLL-2003-like NER data: sentences, CoNLL text / JSONL files, a local Parquet copy of
the hub's conll2003."""

from __future__ import annotations

import json
import random
from pathlib import Path

# The real CoNLL-2003 tag set, in the HF data set's ClassLabel order.
CONLL_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


ENTITIES = {
    "PER": [["Peter", "Blackburn"], ["Schwarzenegger"], ["Angela", "Merkel"], ["Grzegorz"]],
    "ORG": [["EU"], ["European", "Commission"], ["Reuters"], ["United", "Nations"]],
    "LOC": [["Germany"], ["BRUSSELS"], ["New", "York"], ["Saarbruecken"]],
    "MISC": [["German"], ["British"], ["Olympic"]],
}


def tags_of(words: list[str], kind: str) -> list[str]:
    return [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 1)


def sentences(n: int, seed: int) -> list[tuple[list[str], list[str]]]:
    """Small CoNLL-2003-like sentences: two entities of different types each."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        (k1, k2) = rng.sample(sorted(ENTITIES), 2)
        w1, w2 = rng.choice(ENTITIES[k1]), rng.choice(ENTITIES[k2])
        words = [*w1, "said", "on", "Monday", "that", *w2, "would", "visit", "."]
        tags = [*tags_of(w1, k1), "O", "O", "O", "O", *tags_of(w2, k2), "O", "O", "O"]
        out.append((words, tags))
    return out


def write_conll(path: Path, data) -> Path:
    """CoNLL-2003 text format: -DOCSTART-, word POS chunk NER, blank lines between sentences."""
    lines = ["-DOCSTART- -X- -X- O", ""]
    for words, tags in data:
        lines += [f"{w} NNP I-NP {t}" for w, t in zip(words, tags, strict=True)] + [""]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_jsonl(path: Path, data) -> Path:
    rows = [json.dumps({"id": str(i), "tokens": w, "ner_tags": t}) for i, (w, t) in enumerate(data)]
    path.write_text("\n".join(rows) + "\n")
    return path


def write_conll2003_parquet(folder: Path, sizes: dict[str, int]) -> Path:
    """A local copy of eriktks/conll2003: its features (ClassLabel tags in the hub's order) and
    split names, one Parquet file per split, `sizes[split]` sentences each."""
    import datasets

    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=CONLL_TAGS)),
        }
    )
    folder.mkdir(parents=True)
    for split, n in sizes.items():
        data = sentences(n, seed=len(split))
        ds = datasets.Dataset.from_dict(
            {
                "id": [str(i) for i in range(n)],
                "tokens": [w for w, _ in data],
                "ner_tags": [[CONLL_TAGS.index(t) for t in tags] for _, tags in data],
            },
            features=features,
        )
        ds.to_parquet(str(folder / f"{split}.parquet"))
    return folder
