"""Shared fixtures and offline settings; the helpers themselves live in `tests/helpers/`."""

from __future__ import annotations

import os

import pytest

# The helpers assert too: their failures get pytest's detailed messages.
pytest.register_assert_rewrite("tests.helpers")

# Nothing here may reach a hub: fail fast instead of retrying a network that is not there.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.pop("WANDB_API_KEY", None)
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from tests.helpers.runs import (  # noqa: E402  (after the environment; older imports use these names)
    CONF,  # noqa: F401
    ONE_SMALL_EPOCH,  # noqa: F401
    ROOT,  # noqa: F401
    TINY,
    compose,
    run_cli,  # noqa: F401
)


@pytest.fixture
def tiny_cfg(tmp_path):
    """compose(tmp_path, *TINY, *overrides): a tiny run's config, its run dir under tmp_path."""

    def make(*overrides: str):
        return compose(tmp_path, *TINY, *overrides)

    return make


@pytest.fixture
def sweep(tmp_path):
    """A sweep of run dirs written by hand (tests.helpers.comparisons.write_sweep): model=a best
    on val, model=b best on test, c like a, d failed, e running. test_multirun has its own
    `sweep`, made by the real CLI."""
    from tests.helpers.comparisons import write_sweep

    return write_sweep(tmp_path)
