"""The best trial of an Optuna study as command-line overrides: the bridge from a per-backbone
search (`hparams_search=optuna`, one study per model and data set) to a final comparison of every
backbone at its own best setting on the same seeds (scripts/search_then_compare.sh).

    python -m bakeoff.results.best_trial --storage logs/optuna.db --study tiny_bert-amazon_reviews
    optim.lr=0.000412 finetune.head_lr=0.00371
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bakeoff.config import sqlite_url
from bakeoff.errors import BakeoffError


def best_overrides(storage: str, study: str) -> list[str]:
    """`key=value` for every parameter of the study's best completed trial."""
    import optuna

    url = storage if "://" in storage else sqlite_url(storage)
    try:
        loaded = optuna.load_study(study_name=study, storage=url)
    except KeyError as err:  # optuna raises KeyError for an unknown study name
        names = optuna.get_all_study_summaries(storage=url)
        known = ", ".join(s.study_name for s in names) or "none"
        raise BakeoffError(f"no study '{study}' in {storage}; studies there: {known}") from err
    try:
        best = loaded.best_trial
    except ValueError as err:  # no completed trial yet
        raise BakeoffError(f"study '{study}' has no completed trial yet") from err
    return [
        f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}"
        for key, value in sorted(best.params.items())
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bakeoff.results.best_trial",
        description="Print the best trial's parameters of an Optuna study as Hydra overrides.",
    )
    parser.add_argument("--storage", required=True, help="the study's sqlite file (or a URL)")
    parser.add_argument("--study", required=True, help="study name: <model>-<data> by default")
    args = parser.parse_args(argv)
    try:
        print(" ".join(best_overrides(args.storage, args.study)))
    except BakeoffError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
