"""Task functions behind the Hydra entry points: turn user errors into one line, keep sweeps going."""

from __future__ import annotations

import logging

from omegaconf import DictConfig

from bakeoff.errors import BakeoffError, RunInterrupted

log = logging.getLogger("bakeoff")


def _in_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _fail(err: Exception):
    if isinstance(err, BakeoffError):
        raise SystemExit(f"error: {err}") from None
    raise err


def eval_task(cfg: DictConfig) -> None:
    from bakeoff.runs.evaluate import evaluate
    from bakeoff.utils.summary import print_summary

    try:
        print_summary(evaluate(cfg))
    except Exception as err:
        _fail(err)


def predict_task(cfg: DictConfig) -> None:
    from bakeoff.runs.predict import predict

    try:
        print(f"predictions written to {predict(cfg)}")
    except Exception as err:
        _fail(err)


def train_task(cfg: DictConfig) -> float | None:
    """Hydra task for train.py. Returns the best monitored value (for sweepers that optimise it)."""
    from bakeoff.utils.clock import start_job

    start_job()  # timing.startup_s counts from here (from process start for the first job)
    if cfg.get("dry_run"):  # checked, built and measured, not trained: no logger, no record
        from bakeoff.runs.dry_run import dry_run, remove_hydra_leftovers

        try:
            dry_run(cfg)
        except Exception as err:
            _fail(err)  # a sweep of dry runs stops at its first bad job
        finally:
            remove_hydra_leftovers(cfg.paths.output_dir)  # a dry run writes nothing
        return None

    from bakeoff.runs.train import run
    from bakeoff.utils.summary import print_summary

    try:
        record = run(cfg)
    except RunInterrupted as err:
        log.error("%s (record: %s)", err, cfg.paths.output_dir)
        from bakeoff.runs.resume import REQUEUE_SIGNALS, in_submitit_job, requeue_submitit_job

        if not in_submitit_job():
            # The whole process was asked to stop (a sweep too): exit 128 + signal.
            raise SystemExit(err.exit_code) from None
        # A SLURM job of a sweep: a requeue signal re-submits it (the process exits there);
        # otherwise the job ends here, so that the launcher gets its result and the sweep goes
        # on; the end-of-sweep summary lists it, and resume=true finishes it.
        if err.signum in REQUEUE_SIGNALS:
            requeue_submitit_job(err.signum)
        return None
    except Exception as err:
        from bakeoff.runs.resume_check import ResumeMismatch

        message = f"{type(err).__name__}: {err}" if not isinstance(err, BakeoffError) else str(err)
        if _in_multirun() and not isinstance(err, ResumeMismatch):
            # Record written (status "failed", the error); the other jobs go on, and the
            # end-of-multirun callback lists the failed jobs and exits non-zero.
            log.error(
                "job failed, the sweep goes on: %s (record: %s)", message, cfg.paths.output_dir
            )
            return None
        _fail(err)
    print_summary(record)
    return record["monitor"]["best"]
