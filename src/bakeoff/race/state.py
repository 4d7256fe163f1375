"""The race's state file, `<sweep dir>/halving.json`: what a re-run of the command reads back.

It holds the settings, the jobs (their overrides and dirs), and per configuration its state
(`racing`, `eliminated` at a rung, `failed` with the reason, `finished`), plus per job what
each rung's launch measured (epochs reached, fit seconds). It is written atomically after
every launch and every decision, so a race killed at any point continues from its last
decision, and no job already at its rung is launched again (their records say so).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bakeoff.race.plan import RaceSettingsError
from bakeoff.utils.atomic import write_text

STATE_NAME = "halving.json"


@dataclass
class RaceState:
    eta: int
    min_epochs: int
    keep_min: int
    max_epochs: int
    budgets: list[int]
    # label -> {"jobs": [job ids], "overrides": [...], "status", "stopped_at", "reason", "scores"}
    configurations: dict[str, dict[str, Any]] = field(default_factory=dict)
    # job id (its dir name) -> {"overrides": [...], "segments": {rung: {"epochs", "fit_s"}}}
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    rung: int = 0  # the rung being run (len(budgets): the race is over)
    screened_out: list[str] = field(default_factory=list)  # left out before rung 0 (a screen)

    def save(self, sweep_dir: Path) -> None:
        write_text(sweep_dir / STATE_NAME, json.dumps(asdict(self), indent=1) + "\n")

    @property
    def done(self) -> bool:
        return self.rung >= len(self.budgets)

    def racing(self) -> list[str]:
        return [c for c, s in self.configurations.items() if s["status"] == "racing"]


def load(sweep_dir: Path) -> RaceState | None:
    path = sweep_dir / STATE_NAME
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return RaceState(**data)


def same_race(state: RaceState, fresh: RaceState) -> None:
    """A re-run must be the same race: same settings, same jobs in the same dirs."""
    for key in ("eta", "min_epochs", "keep_min", "max_epochs"):
        if getattr(state, key) != getattr(fresh, key):
            raise RaceSettingsError(
                f"hydra.sweeper.{key}: {getattr(fresh, key)} differs from the race in this "
                f"sweep dir ({getattr(state, key)}, {STATE_NAME}): use another name= or the same "
                "settings"
            )
    theirs = {j: s["overrides"] for j, s in state.jobs.items()}
    ours = {j: s["overrides"] for j, s in fresh.jobs.items()}
    if theirs != ours:
        raise RaceSettingsError(
            f"the sweep dir holds a race over other jobs ({STATE_NAME}): use another name= or "
            "the same sweep"
        )
