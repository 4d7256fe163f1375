"""`bakeoff-rank`: rank backbones before fine-tuning (also `python rank.py`).

    bakeoff-rank model=minilm,minilm_l4,minilm_l2,minilm_random [hydra overrides ...]
    bakeoff-rank experiment=compare_vision model=mobilenetv2,efficientnet_lite0 \\
        --against docs/comparisons/compare_vision

Every backbone's config is composed from conf/rank.yaml by Hydra with the same overrides (so
`experiment=...`, `data=...`, `data.limit_train=...` mean what they mean for train.py); only
`model=` takes a comma-separated list. Outputs go to `rank.output_dir` (logs/rank/<time>):
rank.{md,csv,json}, rank_vs_params.png, a W&B run; with `--against`, against.{md,csv}.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bakeoff.errors import BakeoffError, ConfigError

log = logging.getLogger("bakeoff")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bakeoff-rank",
        description="Rank backbones by transferability scores on frozen features (docs/ranking.md).",
    )
    p.add_argument("overrides", nargs="*", help="Hydra overrides; model=a,b,c lists the backbones")
    p.add_argument(
        "--against",
        nargs="+",
        metavar="DIR",
        help="finished comparisons (sweep dirs with records, or a dir with leaderboard.csv): "
        "how well each score predicted them",
    )
    p.add_argument(
        "--ranking",
        metavar="RANK_JSON",
        help="score a finished ranking (its rank.json, or the dir holding it) --against "
        "comparisons, instead of ranking again: nothing is built or run",
    )
    p.add_argument(
        "--map",
        nargs="+",
        default=[],
        metavar="CONFIG=MODEL",
        help="a comparison's config label (or a word of it) that is a ranked model, e.g. "
        "+experiment/pretraining_helps=minilm_random_init=minilm_random",
    )
    return p


def split_models(overrides: Sequence[str]) -> tuple[list[str], list[str]]:
    """(models, the other overrides): `model=a,b` lists the backbones; no other key may sweep."""
    models: list[str] = []
    rest = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if key == "model" and sep:
            models += [v.strip() for v in value.split(",") if v.strip()]
        elif sep and "," in value and not value.startswith(("[", "{", "'", '"')):
            raise ConfigError(
                f"bakeoff-rank: only model= takes a list, not {key}= ({item}); rank one data set "
                "per call"
            )
        else:
            rest.append(item)
    return models, rest


def compose_all(models: Sequence[str], overrides: Sequence[str]):
    """One composed config per backbone; an unknown model is one line naming the choices."""
    from hydra.errors import MissingConfigException

    from bakeoff.app.compose import compose
    from bakeoff.config import CONF_DIR

    choices = sorted(p.stem for p in Path(CONF_DIR, "model").glob("*.yaml"))
    unknown = [m for m in models if m not in choices]
    if unknown:
        raise ConfigError(
            f"bakeoff-rank: unknown backbone {unknown}; model= choices: {', '.join(choices)}"
        )
    configs = []
    stamp_dir = None
    candidates: list[str | None] = [*models] or [None]
    for model in candidates:
        extra = [f"model={model}"] if model else []
        try:
            cfg = compose(
                [*overrides, *extra, *([f"rank.output_dir={stamp_dir}"] if stamp_dir else [])],
                config_name="rank",
            )
        except MissingConfigException as err:
            raise ConfigError(f"bakeoff-rank: {err}".splitlines()[0]) from None
        if stamp_dir is None:  # one output dir for all backbones (the time is read once)
            from omegaconf import OmegaConf

            stamp_dir = str(cfg.rank.output_dir)
            OmegaConf.update(cfg, "rank.output_dir", stamp_dir)
        configs.append(cfg)
    return configs


def run(argv: Sequence[str] | None = None) -> int:
    from bakeoff.rank.ranking import rank_configs
    from bakeoff.rank.report import log_wandb, write_outputs

    args = _parser().parse_args(argv)
    if args.ranking:
        return _against_only(args)
    models, overrides = split_models(args.overrides)
    configs = compose_all(models, overrides)
    out = Path(configs[0].rank.output_dir)
    ranking = rank_configs(configs)
    files = write_outputs(ranking, out, str(configs[0].rank.plot_x))
    for line in ranking.summary:
        print(line)
    from bakeoff.rank.report import ranking_markdown

    print(ranking_markdown(ranking).split("\n\n", 2)[-1].rsplit("\n\n", 1)[0])
    if args.against:
        files += _against(ranking, args, out, int(configs[0].rank.top_k))
    try:
        log_wandb(ranking, configs[0], out, files)
    except Exception as exc:  # the tables are written: a W&B problem costs only the W&B run
        log.warning("W&B run skipped: %s: %s", type(exc).__name__, exc)
    print(f"written: {', '.join(str(f) for f in files)}")
    return 0


def _against(ranking, args, out: Path, top_k: int) -> list[Path]:
    from bakeoff.rank.against import against, write_against

    result = against(ranking, args.against, args.map, top_k=top_k)
    print(result.markdown)
    return write_against(result, out)


def _against_only(args) -> int:
    """--ranking R --against D: a saved ranking scored on comparisons; files go beside R.
    Overrides may only set rank.top_k here (nothing is composed)."""
    from bakeoff.rank.ranking import from_record

    if not args.against:
        raise ConfigError("--ranking needs --against DIR...: what to score the ranking on")
    top_k = 3
    for item in args.overrides:
        key, _, value = item.partition("=")
        if key != "rank.top_k" or not value.isdigit():
            raise ConfigError(f"--ranking: only rank.top_k=K may be given, not {item}")
        top_k = int(value)
    ranking = from_record(args.ranking)
    out = Path(args.ranking)
    out = out if out.is_dir() else out.parent
    files = _against(ranking, args, out, top_k)
    print(f"written: {', '.join(str(f) for f in files)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        return run(argv)
    except BakeoffError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
