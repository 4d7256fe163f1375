"""`hydra/sweeper=halving`: the basic sweeper's syntax, run as a successive-halving race.

    python train.py -m hydra/sweeper=halving model=minilm,tiny_bert optim.lr=1e-4,3e-5 seed=1,2

Jobs are grouped into configurations as the leaderboard groups them (overrides minus seed and
fold); every rung is launched through the configured launcher (basic, joblib, SLURM), and the
race's state is `<sweep dir>/halving.json` (bakeoff.race). Re-running the same command continues
the race. Settings: `hydra.sweeper.eta` (3), `min_epochs` (1), `keep_min` (1).
"""

# No `from __future__ import annotations`: Hydra's plugin scan runs this module without
# registering it in sys.modules, where dataclasses would look the string annotations up.
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf


@dataclass
class HalvingSweeperConf:
    _target_: str = "hydra_plugins.bakeoff_halving.halving_sweeper.HalvingSweeper"
    eta: int = 3  # the top 1/eta configurations go on, to eta times the epochs
    min_epochs: int = 1  # rung 0's budget
    keep_min: int = 1  # never fewer configurations kept at a rung
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
        max_batch_size: Optional[int] = None,  # noqa: UP045 (evaluated at import, see above)
        params: Optional[dict] = None,  # noqa: UP045
    ) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.eta, self.min_epochs, self.keep_min = eta, min_epochs, keep_min

    def screen(self, configurations: dict) -> list:
        """The configurations that enter rung 0 (all). The hook for a cheap screen before the
        race (e.g. a transferability score keeping the top k): return the labels to race."""
        return list(configurations)

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
