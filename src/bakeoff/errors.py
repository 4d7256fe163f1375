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
