"""The console a user reads: one line per event, and no third-party message they cannot act on.

Importing `lightning` always gives its `lightning` logger a stderr handler of its own, and its
records also reach the root logger, where Hydra's handlers are: every Lightning line came twice.
Lightning's handler is added on import, which happens inside the job, after Hydra configured
logging, so the job logging config (`conf/hydra/default.yaml`) cannot remove it. Instead Hydra's
console handler leaves Lightning's records to it (`LeftToLightning`), and the run dir's
`train.log` still gets every line. Third-party messages printed on every run that say nothing
about this run are dropped where they start: a filter on the logger Lightning's advertisement
comes from (`DropThirdPartyNoise`), and warning filters that `QuietThirdParty` installs in each
job and passes on to the processes it spawns.
"""

from __future__ import annotations

import logging
import os
import re
import warnings

from hydra.experimental.callback import Callback

# Log records: Lightning's advertisements for its cloud logger (every Trainer) and its model
# registry (a Trainer without a checkpoint callback: eval, predict).
NOISE_RECORDS = (r"Tip: For seamless cloud (logging|uploads)",)
# Warnings, by how their message starts: Lightning's own use of a torch API that torch deprecated
# (nothing a user can change), and Lightning's hint to prefix `srun` whenever SLURM is installed
# on the machine, also for runs not meant for SLURM (SLURM jobs go through hydra/launcher=slurm,
# which does use srun).
NOISE_WARNINGS = (
    "`isinstance(treespec, LeafSpec)` is deprecated",
    "The `srun` command is available on your system but is not used",
)


class DropThirdPartyNoise(logging.Filter):
    """Drops the log records in NOISE_RECORDS (a filter on the loggers that emit them)."""

    pattern = re.compile("|".join(NOISE_RECORDS))

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.pattern.search(record.getMessage())


class LeftToLightning(logging.Filter):
    """Passes every record except Lightning's, which Lightning's own handler prints."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "lightning" or record.name.startswith("lightning."))


def ignore_noise_warnings() -> None:
    """In this process, and in the fresh interpreters it starts (DDP spawn), which read their
    filters from PYTHONWARNINGS: entries are `action:message start`, separated by commas, so
    each message enters there up to its first comma."""
    entries = []
    for message in NOISE_WARNINGS:
        warnings.filterwarnings("ignore", message=re.escape(message))
        entries.append("ignore:" + message.split(",")[0])
    current = [e for e in os.environ.get("PYTHONWARNINGS", "").split(",") if e]
    # Listed last: the latest entry wins over earlier ones, e.g. a user's `error`.
    os.environ["PYTHONWARNINGS"] = ",".join(current + [e for e in entries if e not in current])


class QuietThirdParty(Callback):
    """Hydra callback: installs the warning filters in every job, before the task runs.

    A callback rather than code in the task functions, so that train, eval, predict and every
    launcher (local, joblib, SLURM) get the same console.
    """

    def on_job_start(self, config, **kwargs) -> None:
        ignore_noise_warnings()
