"""Test a checkpoint:  python eval.py ckpt_path=logs/runs/<run>/checkpoints/<epoch>.ckpt"""

import sys

import hydra

from bakeoff.app.setup import partial_data_overrides, setup

setup()
sys.argv[1:] = partial_data_overrides(sys.argv[1:])  # data.<key>=v changes the checkpoint's data


@hydra.main(version_base="1.3", config_path="conf", config_name="eval")
def main(cfg):
    from bakeoff.app.entry import eval_task

    eval_task(cfg)


if __name__ == "__main__":
    main()
