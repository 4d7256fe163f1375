"""Run records -> comparisons: `load(dirs)` for notebooks, `compare(dirs)` for leaderboards."""

from __future__ import annotations

import warnings

# The function `compare` shares its name with the module `compare`: importing the names here
# (instead of lazily) keeps `bakeoff.results.compare` the function whatever the import order.
# runpy then warns on `python -m bakeoff.results.compare` that the module was already imported;
# that is expected and harmless (the CLI has no import-time side effects), so silence just that.
warnings.filterwarnings(
    "ignore",
    message=r"'bakeoff\.results\.compare' found in sys\.modules",
    category=RuntimeWarning,
)

from bakeoff.results.compare import Comparison, compare, load  # noqa: E402

__all__ = ["Comparison", "compare", "load"]
