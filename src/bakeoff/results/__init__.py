"""Run records -> comparisons: `load(dirs)` for notebooks, `compare(dirs)` for leaderboards.

The names are imported on first use (PEP 562 `__getattr__`): `bakeoff.results.record`, which
every training run imports, must not pull in pandas or matplotlib.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bakeoff.results.collect import load
    from bakeoff.results.compare import Comparison, compare

__all__ = ["Comparison", "compare", "load"]

# public name -> (module, attribute)
_LAZY = {
    "Comparison": ("bakeoff.results.compare", "Comparison"),
    "compare": ("bakeoff.results.compare", "compare"),
    "load": ("bakeoff.results.collect", "load"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


class _Package(types.ModuleType):
    """This package, keeping `bakeoff.results.compare` the function `compare`.

    The function shares its name with the module that defines it. Loading a submodule makes the
    import system bind it on its package, so the attribute would be the function or the module
    depending on import order (and `from bakeoff.results import compare` likewise). Dropping that
    one binding keeps it the function; the module stays reachable as usual through sys.modules:
    `from bakeoff.results.compare import main`, `importlib.import_module`, `python -m`.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "compare" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
