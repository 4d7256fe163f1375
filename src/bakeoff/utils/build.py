"""`hydra.utils.instantiate`, minus the wrapping that would bury a user error under a traceback."""

from __future__ import annotations

from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate

from bakeoff.errors import BakeoffError


def build(config: Any, **kwargs: Any) -> Any:
    try:
        return instantiate(config, **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        while cause is not None and not isinstance(cause, BakeoffError):
            cause = cause.__cause__
        if cause is not None:
            raise cause from None
        raise
