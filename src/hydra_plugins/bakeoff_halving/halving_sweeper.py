"""`hydra/sweeper=halving`: the basic sweeper's syntax, run as a successive-halving race.

    python train.py -m hydra/sweeper=halving model=minilm,tiny_bert optim.lr=1e-4,3e-5 seed=1,2

Jobs are grouped into configurations as the leaderboard groups them (overrides minus seed and
fold); every rung is launched through the configured launcher (basic, joblib, SLURM), and the
race's state is `<sweep dir>/halving.json` (bakeoff.race). Re-running the same command continues
the race. Settings: `hydra.sweeper.eta` (3), `min_epochs` (1), `keep_min` (1); `screen` (a
transferability score: logme, knn or probe; null: none) with `screen_top_k` (3) races only the
configurations whose backbones score in the top k, before anything trains (bakeoff.rank.screen).
"""

# No `from __future__ import annotations`: Hydra's plugin scan runs this module without
# registering it in sys.modules, where dataclasses would look the string annotations up.
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf, open_dict


@dataclass
class HalvingSweeperConf:
    _target_: str = "hydra_plugins.bakeoff_halving.halving_sweeper.HalvingSweeper"
    eta: int = 3  # the top 1/eta configurations go on, to eta times the epochs
    min_epochs: int = 1  # rung 0's budget
    keep_min: int = 1  # never fewer configurations kept at a rung
    screen: Optional[str] = None  # noqa: UP045 a score (logme, knn, probe) screening backbones
    screen_top_k: int = 3  # backbones (with all their configurations) the screen keeps
    max_batch_size: Any = None  # jobs per launch (None: a rung at once)
    params: Any = None  # like the basic sweeper's hydra.sweeper.params


ConfigStore.instance().store(
    group="hydra/sweeper", name="halving", node=HalvingSweeperConf, provider="bakeoff"
)


class HalvingSweeper(BasicSweeper):
    def __init__(
        self,
        eta: int = 3,
        min_epochs: int = 1,
        keep_min: int = 1,
        screen: Optional[str] = None,  # noqa: UP045 (evaluated at import, see above)
        screen_top_k: int = 3,
        max_batch_size: Optional[int] = None,  # noqa: UP045
        params: Optional[dict] = None,  # noqa: UP045
    ) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.eta, self.min_epochs, self.keep_min = eta, min_epochs, keep_min
        self.screen_by, self.screen_top_k = screen, screen_top_k

    def screen(self, configurations: dict) -> dict:
        """{label: None (it races) or why it is left out} for the configurations of rung 0.

        With `screen=SCORE`, each configuration's config is composed as its first job's, and
        bakeoff.rank scores the distinct backbones on the data before any fine-tuning; the
        configurations of the top `screen_top_k` backbones race."""
        verdicts: dict = dict.fromkeys(configurations)
        if self.screen_by is None:
            return verdicts
        from bakeoff.rank import screen as rank_screen

        assert self.hydra_context is not None and self.config is not None
        labels = list(configurations)
        loader = self.hydra_context.config_loader
        composed = []
        master = HydraConfig.instance().cfg
        try:
            for i, label in enumerate(labels):
                cfg = loader.load_sweep_config(self.config, list(configurations[label]))
                with open_dict(cfg):  # what a launcher sets for a job; the screen trains nothing
                    cfg.hydra.job.num, cfg.hydra.job.id = i, f"screen_{i}"
                    cfg.hydra.runtime.output_dir = str(Path(self.config.hydra.sweep.dir) / "screen")
                # As a job sees it: its Hydra config current (for ${hydra:...}), the node dropped.
                HydraConfig.instance().set_config(cfg)
                with open_dict(cfg):
                    del cfg["hydra"]
                composed.append(cfg)
            screened = rank_screen(composed, score=self.screen_by, top_k=self.screen_top_k)
        finally:
            HydraConfig.instance().cfg = master
        for i in screened.dropped:
            verdicts[labels[i]] = (
                f"screened out: {self.screen_by} {screened.scores[i]:.4g}, its backbone not in "
                f"the top {self.screen_top_k}"
            )
        return verdicts

    def sweep(self, arguments: list) -> Any:
        from bakeoff.errors import BakeoffError
        from bakeoff.race.race import new_state, run_race

        assert self.config is not None and self.launcher is not None
        assert self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides([*self._parse_config(), *arguments])
        jobs = [job for batch in self.split_arguments(overrides, None) for job in batch]
        sweep_dir = Path(self.config.hydra.sweep.dir)
        try:
            horizon = self._horizon(overrides)
            fresh = new_state(jobs, self.eta, self.min_epochs, self.keep_min, horizon)
            self._check_screen()
        except BakeoffError as err:
            raise SystemExit(f"error: {err}") from None
        self.validate_batch_is_legal(jobs)  # every job composes, before anything trains
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        returns = []

        def launch(batch: list, initial_job_idx: int) -> None:
            size = self.max_batch_size or len(batch)
            for start in range(0, len(batch), size):
                chunk = batch[start : start + size]
                assert self.launcher is not None
                returns.append(self.launcher.launch(chunk, initial_job_idx=initial_job_idx + start))

        try:
            run_race(sweep_dir, fresh, launch, screen=self.screen)
        except BakeoffError as err:
            raise SystemExit(f"error: {err}") from None
        return returns

    def _check_screen(self) -> None:
        from bakeoff.race.plan import RaceSettingsError
        from bakeoff.rank.scores import SCORES

        if self.screen_by is not None and self.screen_by not in SCORES:
            raise RaceSettingsError(
                f"hydra.sweeper.screen: '{self.screen_by}' is not a score; choose one of "
                f"{', '.join(SCORES)} (or null: no screen)"
            )
        if self.screen_top_k < 1:
            raise RaceSettingsError(
                f"hydra.sweeper.screen_top_k must be >= 1, got {self.screen_top_k}"
            )

    def _horizon(self, overrides) -> Any:
        """trainer.max_epochs, which must be one value for the whole sweep."""
        for override in overrides:
            if override.get_key_element() == "trainer.max_epochs" and override.is_sweep_override():
                from bakeoff.race.plan import RaceSettingsError

                raise RaceSettingsError(
                    "trainer.max_epochs is swept: the race needs one horizon for every job"
                )
        assert self.config is not None
        return OmegaConf.select(self.config, "trainer.max_epochs")
