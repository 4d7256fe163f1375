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
    """A signal stopped the run at a step boundary (bakeoff.resume); exit status 128 + signal."""

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = signum
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}: stopped at a step boundary, resume=true goes on")
