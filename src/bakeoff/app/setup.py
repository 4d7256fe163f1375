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
