"""App start-up: what Hydra must know before it composes a config."""

from __future__ import annotations


def setup() -> None:
    """The schema, the resolvers, and that a misspelled key or option in Hydra's error messages
    gets a "did you mean" (bakeoff.app.suggest)."""
    from bakeoff.app.suggest import install
    from bakeoff.config import register_configs, register_resolvers

    register_configs()
    register_resolvers()
    install()


def partial_data_overrides(argv: list[str]) -> list[str]:
    """eval.py's command line with `data.<key>=v` read as a change to the checkpoint's own data
    config (`+data.<key>=v`) when no `data=<config>` is given: `eval.py ckpt_path=...
    data.eval_batch_size=200` works without naming the data again (runs/evaluate.py merges it)."""
    if any(a.startswith(("data=", "+data=", "++data=")) for a in argv):
        return list(argv)
    return [f"+{a}" if a.startswith("data.") else a for a in argv]
