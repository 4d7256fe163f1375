"""In-process Hydra compose: the config `python train.py <overrides>` would get, without a
subprocess (for tests, benchmarks and notebooks)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def compose(
    overrides: Sequence[str] = (),
    *,
    config_name: str = "train",
    root_dir: str | Path | None = None,
    output_dir: str | Path | None = None,
) -> Any:
    """Compose `conf/<config_name>.yaml` with the schema registered (`bakeoff.app.setup`).

    `root_dir` / `output_dir` set `paths.root_dir` / `paths.output_dir` before `overrides`. The
    Hydra config is set as the current one (what `HydraConfig.get()` reads in a run) and dropped
    from the returned config, as `@hydra.main` does.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    from bakeoff.app.setup import setup
    from bakeoff.config import CONF_DIR

    paths = [] if root_dir is None else [f"paths.root_dir={root_dir}"]
    paths += [] if output_dir is None else [f"paths.output_dir={output_dir}"]
    setup()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = hydra_compose(config_name, overrides=[*paths, *overrides], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg
