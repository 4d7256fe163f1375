"""Console scripts (`bakeoff-train`, `bakeoff-eval`, `bakeoff-predict`): the same Hydra apps as
train.py / eval.py, reading the `conf/` of this checkout (bakeoff is installed editable)."""

from __future__ import annotations

import hydra

from bakeoff.app.setup import setup
from bakeoff.config import CONF_DIR


def _app(config_name: str, task: str):
    def main() -> None:
        setup()

        @hydra.main(version_base="1.3", config_path=CONF_DIR, config_name=config_name)
        def app(cfg):
            from bakeoff.app import entry

            return getattr(entry, task)(cfg)

        app()

    return main


train = _app("train", "train_task")
evaluate = _app("eval", "eval_task")
predict = _app("predict", "predict_task")


if __name__ == "__main__":  # python -m bakeoff.app.cli {train,evaluate,predict} [overrides]
    import sys

    command = sys.argv.pop(1)
    {"train": train, "eval": evaluate, "evaluate": evaluate, "predict": predict}[command]()
