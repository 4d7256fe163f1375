"""Small GLUE-shaped data sets, written as parquet with the hub's own features.

No offline copy of GLUE exists here, so tests build fixtures with exactly the real schemas of
`nyu-mll/glue` (column names, ClassLabel names and order, split names). `datasets` keeps the
features in the parquet metadata, so `data=glue_<task>` loads them through the very code path
the hub uses, with only `path`, `subset` and `data_files` pointed at these files.
"""

from __future__ import annotations

import random
from pathlib import Path

WORDS = [
    "the",
    "a",
    "cat",
    "dog",
    "bird",
    "fish",
    "runs",
    "sleeps",
    "eats",
    "jumps",
    "red",
    "blue",
    "green",
    "small",
    "big",
    "old",
    "new",
    "house",
    "tree",
    "car",
    "road",
    "river",
    "hill",
    "city",
    "park",
    "book",
    "song",
    "day",
    "night",
]

# subset -> (text columns, label feature: list of class names, or "float" for regression)
SCHEMAS = {
    "cola": (("sentence",), ["unacceptable", "acceptable"]),
    "mrpc": (("sentence1", "sentence2"), ["not_equivalent", "equivalent"]),
    "rte": (("sentence1", "sentence2"), ["entailment", "not_entailment"]),
    "stsb": (("sentence1", "sentence2"), "float"),
    "mnli": (("premise", "hypothesis"), ["entailment", "neutral", "contradiction"]),
}
SPLITS = {
    "mnli": {"train": 96, "validation_matched": 32, "validation_mismatched": 24},
}
DEFAULT_SPLITS = {"train": 96, "validation": 32}


def _sentence(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(WORDS) for _ in range(n)]


def _example(subset: str, rng: random.Random) -> dict:
    """One example whose label follows from its text, so a model can learn something."""
    first = _sentence(rng, rng.randint(4, 9))
    if subset == "cola":
        ok = rng.random() < 0.5
        text = first if ok else first[::-1] + ["the", "the"]
        return {"sentence": " ".join(text), "label": int(ok)}
    keep = rng.random()
    second = [w if rng.random() < keep else rng.choice(WORDS) for w in first]
    overlap = sum(a == b for a, b in zip(first, second, strict=True)) / len(first)
    pair = {"a": " ".join(first), "b": " ".join(second)}
    if subset == "stsb":
        return {"sentence1": pair["a"], "sentence2": pair["b"], "label": round(5 * overlap, 2)}
    if subset == "mrpc":
        return {"sentence1": pair["a"], "sentence2": pair["b"], "label": int(overlap > 0.6)}
    if subset == "rte":  # 0 = entailment
        return {"sentence1": pair["a"], "sentence2": pair["b"], "label": int(overlap <= 0.6)}
    label = 0 if overlap > 0.7 else (1 if overlap > 0.35 else 2)
    return {"premise": pair["a"], "hypothesis": pair["b"], "label": label}


def write_glue(subset: str, root: Path, seed: int = 0) -> dict[str, str]:
    """Parquet files of a GLUE-shaped fixture, one per split; returns split -> path."""
    import datasets

    columns, label = SCHEMAS[subset]
    features = {c: datasets.Value("string") for c in columns}
    features["label"] = (
        datasets.Value("float32") if label == "float" else datasets.ClassLabel(names=label)
    )
    features["idx"] = datasets.Value("int32")
    rng = random.Random(seed)
    files = {}
    root.mkdir(parents=True, exist_ok=True)
    for split, n in SPLITS.get(subset, DEFAULT_SPLITS).items():
        rows = [_example(subset, rng) | {"idx": i} for i in range(n)]
        ds = datasets.Dataset.from_list(rows, features=datasets.Features(features))
        path = root / f"{subset}-{split}.parquet"
        ds.to_parquet(str(path))
        files[split] = str(path)
    return files


def glue_overrides(subset: str, root: Path) -> list[str]:
    """Overrides that point `data=glue_<subset>` at the fixture files (nothing else changes)."""
    files = write_glue(subset, root)
    listed = ", ".join(f"{k}: '{v}'" for k, v in files.items())
    return [
        f"data=glue_{subset}",
        "data.source.path=parquet",
        "data.source.subset=null",
        f"data.source.data_files={{{listed}}}",
    ]
