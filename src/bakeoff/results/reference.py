"""Published tables beside ours, part 1: reading a reference file (`reference_match` matches it
to our runs, `reference_render` writes the result).

A reference file (`conf/reference/<name>.yaml`) is one published table: its citation, the scale
of its numbers (papers print metrics x 100), a mapping from the paper's names to ours (models,
data sets, and per paper split the split of our records), and its cells, each with the value
and where in the source it was copied from.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bakeoff.errors import BakeoffError

REFERENCE_DIR = Path(__file__).resolve().parents[3] / "conf" / "reference"
CELL_KEYS = ("model", "dataset", "split", "metric", "value", "citation")


AGGREGATES = ("mean", "median")


class ReferenceError(BakeoffError):
    """A reference file that cannot be read, or a cell that breaks its rules."""


@dataclass(frozen=True)
class Cell:
    """One number of a published table, in the paper's names and units."""

    model: str
    dataset: str
    split: str
    metric: str  # our metric name (acc, f1, mcc, pearson, ...)
    value: float
    citation: str  # where in the source the number is printed
    setting: str | None = None  # e.g. "logistic regression" vs "fine-tuned"


@dataclass
class Reference:
    name: str
    title: str
    citation: dict[str, Any]
    scale: float
    models: dict[str, str]  # paper model -> our model name
    datasets: dict[str, dict[str, Any]]  # paper data set -> {data: ours, splits: {paper: ours}}
    settings: dict[str, dict[str, str]]  # paper setting -> {record field: value}
    cells: list[Cell]
    path: Path | None = None
    # How the source aggregates its runs, and so how ours are: "mean" or "median" (RoBERTa and
    # DistilBERT report the median of five runs; BERT's Table 7 the mean of five restarts).
    aggregate: str = "mean"

    def source(self) -> str:
        c = self.citation
        where = ", ".join(str(c[k]) for k in ("table", "url") if c.get(k))
        return f"{c.get('paper', self.name)} ({c.get('year', 'n.d.')}), {where}"


# --------------------------------------------------------------------------- reading


def reference_path(name_or_path: str | Path) -> Path:
    """A file, or the name of one in conf/reference/ (`run_glue_bert_base_cased`)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    candidate = REFERENCE_DIR / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    known = sorted(p.stem for p in REFERENCE_DIR.glob("*.yaml"))
    raise ReferenceError(
        f"no reference file {name_or_path!r}; give a path or one of: {', '.join(known)}"
    )


def _require(mapping: Any, key: str, where: str, kind: type | tuple = object) -> Any:
    if not isinstance(mapping, dict) or key not in mapping or mapping[key] in (None, ""):
        raise ReferenceError(f"{where}: missing '{key}'")
    if not isinstance(mapping[key], kind):
        raise ReferenceError(f"{where}: '{key}' must be {getattr(kind, '__name__', kind)}")
    return mapping[key]


def _cell(raw: Any, where: str, ref: Reference) -> Cell:
    for key in CELL_KEYS:
        _require(raw, key, where)
    value = raw["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ReferenceError(f"{where}: value must be a number, not {value!r}")
    unknown = set(raw) - set(CELL_KEYS) - {"setting"}
    if unknown:
        raise ReferenceError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    cell = Cell(**{k: raw[k] for k in CELL_KEYS}, setting=raw.get("setting"))
    if cell.dataset not in ref.datasets:
        raise ReferenceError(
            f"{where}: data set {cell.dataset!r} is not in mapping.datasets "
            f"({', '.join(ref.datasets) or 'empty'})"
        )
    if cell.split not in ref.datasets[cell.dataset].get("splits", {}):
        raise ReferenceError(
            f"{where}: split {cell.split!r} of {cell.dataset!r} is not in its mapping.splits"
        )
    if cell.setting is not None and cell.setting not in ref.settings:
        raise ReferenceError(f"{where}: setting {cell.setting!r} is not in mapping.settings")
    return cell


def load_reference(name_or_path: str | Path) -> Reference:
    """Read and check a reference file: every cell has a value and its own citation."""
    import yaml

    path = reference_path(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ReferenceError(f"{path}: cannot read: {exc}") from exc
    where = str(path)
    citation = _require(raw, "citation", where, dict)
    for key in ("paper", "year"):
        _require(citation, key, f"{where}: citation")
    if not (citation.get("table") or citation.get("url")):
        raise ReferenceError(f"{where}: citation needs a 'table' or a 'url'")
    mapping = raw.get("mapping") or {}
    datasets = _require(mapping, "datasets", f"{where}: mapping", dict)
    ref = Reference(
        name=str(_require(raw, "name", where)),
        title=str(raw.get("title") or raw["name"]),
        citation=citation,
        scale=float(raw.get("scale", 1.0)),
        models={str(k): str(v) for k, v in (mapping.get("models") or {}).items()},
        datasets={str(k): dict(v) for k, v in datasets.items()},
        settings={str(k): dict(v) for k, v in (mapping.get("settings") or {}).items()},
        cells=[],
        path=path,
    )
    ref.aggregate = str(raw.get("aggregate", "mean"))
    if ref.aggregate not in AGGREGATES:
        raise ReferenceError(
            f"{where}: aggregate must be one of {', '.join(AGGREGATES)}, not {ref.aggregate!r}"
        )
    cells = raw.get("cells")
    if not isinstance(cells, list):
        raise ReferenceError(f"{where}: 'cells' must be a list (empty when none is sourced yet)")
    ref.cells = [_cell(c, f"{where}: cells[{i}]", ref) for i, c in enumerate(cells)]
    return ref


def apply_map(references: Sequence[Reference], pairs: Sequence[str] | None) -> list[Reference]:
    """Rename what a paper name maps to, `PAPER=OURS` (a model, or a data set's data config):
    e.g. `bert-base-cased=tiny_bert` compares a tiny stand-in against the published cell."""
    renames: dict[str, str] = {}
    for pair in pairs or ():
        paper, sep, ours = pair.partition("=")
        if not sep or not paper or not ours:
            raise ReferenceError(f"--map takes PAPER=OURS, not {pair!r}")
        renames[paper] = ours
    known = {n for r in references for n in (*r.models, *r.datasets)}
    unknown = sorted(set(renames) - known)
    if unknown:
        raise ReferenceError(
            f"--map names {', '.join(unknown)}, which no reference has; "
            f"paper names: {', '.join(sorted(known))}"
        )
    out = []
    for ref in references:
        models = {**{c.model: c.model for c in ref.cells}, **ref.models}
        models = {k: renames.get(k, v) for k, v in models.items()}
        datasets = {
            k: {**v, "data": renames.get(k, v.get("data", k))} for k, v in ref.datasets.items()
        }
        out.append(dataclasses.replace(ref, models=models, datasets=datasets))
    return out
