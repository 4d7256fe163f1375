"""inspect's module lookup for frozen modules' frames made a dict lookup (pydantic's import cost)."""

from __future__ import annotations

import sys


def map_frozen_import_frames() -> None:
    """Let `inspect.getmodule` find frozen modules' frames in its cache instead of by a scan.

    pydantic reads a model's attribute docstrings by walking up the frames of the import that
    defines the class and asking `inspect.getmodule` of each (all of them, for a parametrized
    generic model, whose source is in no frame). The frames of frozen modules (importlib's
    `<frozen importlib._bootstrap>`, `<frozen runpy>` under `python -m`, ...) belong to pseudo-files
    that are no module's `__file__`, so every such ask misses inspect's file cache and loops over
    all of `sys.modules`: ~2 ms an ask with torch and lightning loaded, 1-3 s for wandb's import.
    Mapping each pseudo-file (as asked, and as inspect resolves it against the working directory)
    to its module makes the ask a dict lookup; what pydantic finds is unchanged (a frozen module's
    frame never holds a model's source).
    """
    import inspect

    for name, module in list(sys.modules.items()):
        if getattr(getattr(module, "__spec__", None), "origin", None) == "frozen":
            pseudo = f"<frozen {name}>"
            inspect.modulesbyfile[pseudo] = name
            inspect.modulesbyfile[inspect.getabsfile(None, pseudo)] = name  # type: ignore[arg-type]  # a path, as inspect.getmodule passes it
