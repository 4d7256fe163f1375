"""'Did you mean ...?' in Hydra's own errors, for a misspelled key or option name on the CLI.

Hydra rejects `trainer.max_epoch=1` and `model=tiny_bret` while composing, before any task code
runs, and prints its message from `hydra._internal.utils.run_and_report`. `install` wraps that
function so the message gets the nearest key of the node (or option of the config group) as a
suggestion. For a key of a schema node, Hydra's hint `To append to your config use +key=value`
is replaced: the schema has no such key, and the appended one would fail later (the Trainer
refuses `max_epoch`). Everything else in Hydra's message stays as it was.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from omegaconf import OmegaConf

from bakeoff.utils.strings import did_you_mean

APPEND_HINT = re.compile(r"^To append to your config use \+(?P<key>[^=\s]+)=(?P<value>.*)$", re.M)


def add_suggestion(err: BaseException) -> bool:
    """Reword a Hydra composition error in place with a suggestion; False if none applies."""
    from hydra.errors import ConfigCompositionException, MissingConfigException

    if isinstance(err, MissingConfigException):
        message = _option_message(err)
    elif isinstance(err, ConfigCompositionException):
        message = _key_message(err)
    else:
        return False
    if message is None:
        return False
    err.args = (message,)
    return True


def _option_message(err: Any) -> str | None:
    """`model=tiny_bret`: Could not find 'model/tiny_bret' ... -> did you mean model=tiny_bert?"""
    missing, options = getattr(err, "missing_cfg_file", None), getattr(err, "options", None)
    if not missing or not options or "/" not in missing:
        return None
    group, name = missing.rsplit("/", 1)
    near = did_you_mean(name, options)
    if near is None:
        return None
    first, _, rest = str(err).partition("\n")
    return f"{first}\nDid you mean {group}={near}?\n{rest}"


def _key_message(err: Any) -> str | None:
    """`trainer.max_epoch=1`: Key 'max_epoch' not in 'TrainerConfig' -> did you mean
    trainer.max_epochs=1?"""
    cause = err.__cause__
    key, node = getattr(cause, "key", None), getattr(cause, "parent_node", None)
    hint = APPEND_HINT.search(str(err))
    if key is None or node is None or hint is None:
        return None
    keys = [str(k) for k in node]
    near = did_you_mean(str(key), keys)
    schema = OmegaConf.get_type(node)
    if near is not None:
        # The override as typed, with the misspelled part (at the depth of the key) replaced.
        parts = hint["key"].split(".")
        depth = len(str(getattr(cause, "full_key", key)).split(".")) - 1
        if depth < len(parts) and parts[depth] == str(key):
            parts[depth] = near
        advice = f"Did you mean {'.'.join(parts)}={hint['value']}?"
    elif dataclasses.is_dataclass(schema):  # '+' would add a key the schema has not
        advice = f"{schema.__name__} has the keys: {', '.join(keys)}"
    else:
        return None
    return APPEND_HINT.sub(lambda _: advice, str(err), count=1)


def install() -> None:
    """Route Hydra's error report through `add_suggestion` (once per process)."""
    import hydra._internal.utils as hydra_utils

    report = hydra_utils.run_and_report
    if getattr(report, "adds_suggestions", False):
        return

    def run_and_report(func: Any) -> Any:
        def call() -> Any:
            try:
                return func()
            except Exception as err:
                add_suggestion(err)
                raise

        return report(call)

    run_and_report.adds_suggestions = True  # type: ignore[attr-defined]
    hydra_utils.run_and_report = run_and_report
