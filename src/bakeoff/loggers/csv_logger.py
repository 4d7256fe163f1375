"""Lightning's CSV logger, minus deleting what an earlier writer of the same run dir logged.

Lightning's writer removes an existing `metrics.csv` when it is created. That loses rows twice
over in bakeoff: a run resumed with `resume=true` would drop its earlier epochs, and under
`ddp_spawn` the test pass runs in fresh processes whose new writer drops the fit's rows (and
then fails rewriting the header). This writer keeps the file and its columns: rows are appended,
and a new column rewrites the file with the old rows kept.
"""

from __future__ import annotations

import csv
from typing import cast

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment


class AppendingExperimentWriter(ExperimentWriter):
    def _check_log_dir_exists(self) -> None:
        self._read_header()

    def save(self) -> None:
        # The file is the truth about its columns: another process (a spawned rank's writer,
        # pickled before the fit wrote the file) may have added some since this writer last saw it.
        if self.metrics:
            self._read_header()
        super().save()

    def _read_header(self) -> None:
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as f:
                self.metrics_keys = list(next(csv.reader(f), []))


class AppendingCSVLogger(CSVLogger):
    """`lightning.pytorch.loggers.CSVLogger` whose `metrics.csv` survives a new writer."""

    @property
    @rank_zero_experiment
    def experiment(self) -> AppendingExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = AppendingExperimentWriter(log_dir=self.log_dir)
        return cast(AppendingExperimentWriter, self._experiment)  # only made here
