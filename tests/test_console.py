"""What a user reads on the console of a run: each event once, no third-party noise.

Runs the real CLI, with the environment a user has: warnings not silenced, W&B not silent.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bakeoff.app.console import NOISE_WARNINGS, DropThirdPartyNoise, ignore_noise_warnings
from bakeoff.utils.summary import count, metric, rate, seconds

ROOT = Path(__file__).resolve().parents[1]

# Third-party messages printed on every run that a user cannot act on.
NOISE = {
    "Lightning's litlogger advertisement": "litlogger",
    "Lightning's _pytree deprecation warning": "LeafSpec",
    "W&B's 'anonymous setting' warning": "anonymous setting",
    "Lightning's srun hint": "The `srun` command is available",
}
# The parts of a line that differ between the places one event can be printed: Hydra's file
# format, `LEVEL: ` (Lightning's and the console's), W&B's prefix.
PREFIX = re.compile(r"^(\[[^\]]*\]\[[^\]]*\]\[[A-Z]+\] - |[A-Z]+: |wandb: )")


def messages(text: str) -> list[str]:
    """The console's lines without their prefix, blank lines and table rules left out."""
    lines = (PREFIX.sub("", line).strip() for line in text.splitlines())
    return [line for line in lines if line and not set(line) <= set("━─═┏┓┗┛┡┩└┘┌┐┬┴┼╇╈┳┻ ")]


@pytest.fixture(scope="module")
def console_run(tmp_path_factory):
    logs = tmp_path_factory.mktemp("logs")
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_SILENT", "PYTHONWARNINGS")}
    proc = subprocess.run(
        [
            sys.executable,
            "train.py",
            "model=tiny_bert",
            "trainer.max_epochs=1",
            "data.limit_train=64",
            "data.limit_val=32",
            "data.limit_test=32",
            f"paths.log_dir={logs}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run_dir,) = (logs / "runs").iterdir()
    return proc, run_dir


def test_every_event_is_printed_once(console_run):
    proc, _ = console_run
    printed = messages(proc.stdout) + messages(proc.stderr)
    twice = {line: n for line, n in Counter(printed).items() if n > 1}
    assert not twice, twice
    # Lightning's and bakeoff's lines are both there
    assert any("`Trainer.fit` stopped: `max_epochs=1` reached." in line for line in printed)
    assert any(line.startswith("epoch 0: full trainable") for line in printed)


def test_no_third_party_noise(console_run):
    proc, _ = console_run
    for what, text in NOISE.items():
        assert text not in proc.stdout + proc.stderr, what


def test_train_log_keeps_every_line(console_run):
    proc, run_dir = console_run
    log = (run_dir / "train.log").read_text()
    for logger, message in [
        ("lightning.fabric.utilities.seed", "Seed set to 42"),
        ("lightning.pytorch.utilities.rank_zero", "`Trainer.fit` stopped: `max_epochs=1` reached."),
        ("bakeoff.models.finetune", "epoch 0: full trainable 2053634 / 2053634 params"),
    ]:
        assert re.search(rf"\]\[{re.escape(logger)}\]\[INFO\] - {re.escape(message)}", log), message
    assert "litlogger" not in log


def test_summary_numbers_are_rounded_for_reading(console_run):
    proc, _ = console_run
    assert "│ params total / trainable │ 2.05M / 2.05M" in proc.stdout
    assert re.search(r"│ fit / train samples/s\s+│ \d+(\.\d)? s / [\d.]+ ", proc.stdout)


@pytest.mark.parametrize(
    ("message", "kept"),
    [
        (
            "💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger]",
            0,
        ),
        ("💡 Tip: For seamless cloud uploads and versioning, try installing [litmodels]", 0),
        ("`Trainer.fit` stopped: `max_epochs=1` reached.", 1),
    ],
)
def test_lightning_advertisements_are_dropped(message, kept):
    record = logging.LogRecord(
        "lightning.pytorch.utilities.rank_zero", 20, "", 0, message, (), None
    )
    assert DropThirdPartyNoise().filter(record) == kept


def test_noise_warnings_are_ignored_here_and_in_spawned_processes(monkeypatch):
    import warnings

    monkeypatch.setenv("PYTHONWARNINGS", "error")  # a user's own setting stays, ours win
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ignore_noise_warnings()
        for message in NOISE_WARNINGS:
            warnings.warn(message + " (and the rest)", stacklevel=1)
        warnings.warn("a warning about this run", stacklevel=1)
    assert [str(w.message) for w in seen] == ["a warning about this run"]
    assert os.environ["PYTHONWARNINGS"].startswith("error,ignore:")
    # a fresh interpreter (what DDP spawn starts) reads them from PYTHONWARNINGS
    code = "import warnings\n" + "".join(
        f"warnings.warn({m + ' (and the rest)'!r})\n" for m in NOISE_WARNINGS
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == ""


@pytest.mark.parametrize(
    ("value", "text"),
    [(22_713_216, "22.7M"), (2_053_634, "2.05M"), (950, "950"), (12_345, "12.3k"), (None, "-")],
)
def test_count(value, text):
    assert count(value) == text


@pytest.mark.parametrize(
    ("value", "text"), [(689.4, "689 s"), (12.5, "12 s"), (0.9010, "0.9 s"), (None, "-")]
)
def test_seconds(value, text):
    assert seconds(value) == text


def test_rate_and_metric():
    assert (rate(23.14), rate(135.11), rate(1234.5)) == ("23.1", "135", "1234")
    assert (metric(0.82913), metric(1234.5), metric(None)) == ("0.8291", "1.23e+03", "-")
