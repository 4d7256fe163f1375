"""Run records -> comparisons: `load(dirs)` for notebooks, `compare(dirs)` for leaderboards.

The names are imported on first use (PEP 562 `__getattr__`): `bakeoff.record.store`, which
every training run imports, must not pull in pandas or matplotlib. `compare` is defined in
`bakeoff.results.comparison`, so `bakeoff.results.compare` is always the function.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bakeoff.results.collect import load
    from bakeoff.results.comparison import Comparison, compare

__all__ = ["Comparison", "compare", "load"]

# public name -> (module, attribute)
_LAZY = {
    "Comparison": ("bakeoff.results.comparison", "Comparison"),
    "compare": ("bakeoff.results.comparison", "compare"),
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
