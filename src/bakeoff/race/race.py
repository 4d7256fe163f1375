"""The race: rungs of jobs launched through the sweep's launcher, decided from their records.

Rung r trains every job of the configurations still racing up to `budgets[r]` epochs
(`budget.epochs`, `resume=true`: each job continues from its own `last.ckpt`, in its own dir,
`hydra.sweep.subdir=<job id>`), then ranks the configurations (bakeoff.race.plan) and keeps
the top 1/eta. The last rung trains the survivors to the horizon without a budget. A job whose
record is already at the rung's budget (completed, or paused there) is not launched again. A
job that fails takes its configuration out of the race with the job's error; the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bakeoff.race import plan
from bakeoff.race.state import RaceState, load, same_race
from bakeoff.record.store import RECORD_NAME, read_record
from bakeoff.utils.overrides import configuration, override_key

log = logging.getLogger("bakeoff")

# Keys the race sets on every job; the same keys in the command are dropped from the jobs.
RACE_KEYS = {"resume", "budget.epochs", "hydra.sweep.subdir"}

Launch = Callable[[list[list[str]], int], Any]
# A screen: {label: overrides} -> {label: None (races) or why it was left out}
Screen = Callable[[dict[str, list[str]]], dict[str, str | None]]


def configuration_label(overrides: Sequence[str]) -> str:
    return ",".join(configuration(overrides)) or "(default)"


def new_state(
    jobs: Sequence[Sequence[str]], eta: int, min_epochs: int, keep_min: int, max_epochs: int
) -> RaceState:
    """The race over `jobs` (each one job's overrides), grouped into configurations; the
    settings are checked first (plan.check_settings), before anything trains."""
    own = [[o for o in job if override_key(o) not in RACE_KEYS] for job in jobs]
    configurations: dict[str, dict[str, Any]] = {}
    for job_id, overrides in enumerate(own):
        label = configuration_label(overrides)
        entry = configurations.setdefault(
            label,
            {"jobs": [], "overrides": list(overrides), "status": "racing", "stopped_at": None},
        )
        entry["jobs"].append(str(job_id))
        entry.setdefault("scores", {})
        entry.setdefault("reason", None)
    plan.check_settings(eta, min_epochs, keep_min, max_epochs, len(configurations))
    shared = set.intersection(*(set(c["overrides"]) for c in configurations.values()))
    for label, entry in configurations.items():  # the overrides that tell them apart
        entry["short"] = " ".join(o for o in entry["overrides"] if o not in shared) or label
    return RaceState(
        eta=eta,
        min_epochs=min_epochs,
        keep_min=keep_min,
        max_epochs=max_epochs,
        budgets=plan.budgets(min_epochs, eta, max_epochs),
        configurations=configurations,
        jobs={str(i): {"overrides": o, "segments": {}} for i, o in enumerate(own)},
    )


def job_overrides(state: RaceState, job_id: str, budget: int) -> list[str]:
    extra = [f"hydra.sweep.subdir={job_id}", "resume=true"]
    if budget < state.max_epochs:
        extra.append(f"budget.epochs={budget}")
    return [*state.jobs[job_id]["overrides"], *extra]


def read(sweep_dir: Path, job_id: str) -> dict[str, Any] | None:
    if not (sweep_dir / job_id / RECORD_NAME).is_file():
        return None
    try:
        return read_record(sweep_dir / job_id)
    except ValueError:  # half a record: the job did not finish writing it
        return None


def at_rung(record: dict[str, Any] | None, budget: int) -> bool:
    """The job has done its part of this rung: finished, or paused at the rung's budget."""
    if record is None:
        return False
    if record.get("status") == "completed":
        return True
    return record.get("status") == "paused" and (record.get("epochs_trained") or 0) >= budget


def run_race(
    sweep_dir: Path, fresh: RaceState, launch: Launch, screen: Screen | None = None
) -> RaceState:
    """Runs (or continues, from `halving.json`) the race; returns its final state."""
    state = load(sweep_dir)
    if state is None:
        state = fresh
        if screen is not None:  # a cheap screen may leave configurations out before rung 0
            verdicts = screen({c: s["overrides"] for c, s in state.configurations.items()})
            for label, entry in state.configurations.items():
                if verdicts.get(label):
                    entry["status"], entry["reason"] = "screened", verdicts[label]
                    state.screened_out.append(label)
        state.save(sweep_dir)
    else:
        same_race(state, fresh)
        log.info("halving: continuing the race in %s at rung %d", sweep_dir, state.rung)
    launched = 0
    while not state.done:
        budget = state.budgets[state.rung]
        todo = [
            job_id
            for label in state.racing()
            for job_id in state.configurations[label]["jobs"]
            if not at_rung(read(sweep_dir, job_id), budget)
        ]
        log.info(
            "halving: rung %d, %d configurations to %d epochs of %d (%d jobs to train)",
            state.rung,
            len(state.racing()),
            budget,
            state.max_epochs,
            len(todo),
        )
        if todo:
            launch([job_overrides(state, j, budget) for j in todo], launched)
            launched += len(todo)
        _decide(sweep_dir, state, budget)
        state.rung += 1
        state.save(sweep_dir)
    return state


def _decide(sweep_dir: Path, state: RaceState, budget: int) -> None:
    """Reads the rung's records: failures leave the race, the rest are ranked and cut."""
    rung = str(state.rung)
    scores: dict[str, float] = {}
    mode = "max"
    for label in state.racing():
        entry = state.configurations[label]
        records = {j: read(sweep_dir, j) for j in entry["jobs"]}
        failed = [(j, r) for j, r in records.items() if not at_rung(r, budget)]
        for job_id, record in records.items():
            _measure(state, job_id, record, rung)
        if failed:
            job_id, record = failed[0]
            reason = (
                f"job {job_id}: no {RECORD_NAME}"
                if record is None
                else f"job {job_id}: {record.get('status')}: {record.get('error')}"
            )
            entry["status"], entry["reason"], entry["stopped_at"] = "failed", reason, budget
            log.warning("halving: %s leaves the race (%s)", entry["short"], reason)
            continue
        done = {j: r for j, r in records.items() if r is not None}  # all of them: none failed
        mode = done[entry["jobs"][0]]["monitor"]["mode"] or mode
        scores[label] = plan.score([r["monitor"]["best"] for r in done.values()], mode)
        entry["scores"][rung] = scores[label]
    last = state.rung == len(state.budgets) - 1
    keep = list(scores) if last else plan.kept(scores, mode, state.eta, state.keep_min)
    for label in scores:
        entry = state.configurations[label]
        if last:
            entry["status"], entry["stopped_at"] = "finished", state.max_epochs
        elif label not in keep:
            entry["status"], entry["stopped_at"] = "eliminated", budget
    if not last:
        shown = [state.configurations[c]["short"] for c in keep]
        log.info("halving: rung %d keeps %s", state.rung, "; ".join(shown) or "nothing")


def _measure(state: RaceState, job_id: str, record: dict[str, Any] | None, rung: str) -> None:
    """What this rung's launch cost the job: epochs reached and fit seconds (once per rung)."""
    if record is None or record.get("epochs_trained") is None:
        return
    segments = state.jobs[job_id]["segments"]
    before = max((s["epochs"] for s in segments.values()), default=0)
    if rung not in segments and record["epochs_trained"] > before:
        fit_s = (record.get("timing") or {}).get("fit_s")
        segments[rung] = {"epochs": record["epochs_trained"], "fit_s": fit_s}
