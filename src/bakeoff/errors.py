"""Errors a user can cause (config, data, paths, offline models).

They carry one clear message and are reported without a traceback wall: the entry
points turn them into `error: <message>` and exit status 1.
"""


class BakeoffError(Exception):
    """A problem with the user's input that the message alone explains."""


class ConfigError(BakeoffError):
    pass


class DataError(BakeoffError):
    pass


class ModelNotAvailableError(BakeoffError):
    pass


class RunInterrupted(Exception):
    """A signal stopped the run at a step boundary (bakeoff.runs.resume); exit status 128 + signal."""

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = signum
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}: stopped at a step boundary, resume=true goes on")


class OutOfMemoryError(BakeoffError):
    """The accelerator (or host) ran out of memory; the message lists the remedies."""


def explain_out_of_memory(err: BaseException) -> OutOfMemoryError | None:
    """An OutOfMemoryError with the remedies if `err` is one (torch's, or a RuntimeError/
    MemoryError saying so), else None."""
    import torch

    oom = isinstance(err, (torch.OutOfMemoryError, MemoryError)) or (
        isinstance(err, RuntimeError) and "out of memory" in str(err).lower()
    )
    if not oom:
        return None
    first = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return OutOfMemoryError(
        f"out of memory ({first[:200]}). Remedies: a smaller batch (data.batch_size=16) with "
        "trainer.accumulate_grad_batches=2 to keep the effective batch, gradient checkpointing "
        "(model.backbone.gradient_checkpointing=true), lower precision "
        "(trainer.precision=bf16-mixed or 16-mixed), a shorter data.max_length or a smaller "
        "data.image_size, or a smaller model"
    )
