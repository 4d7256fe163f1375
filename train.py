"""Fine-tune one backbone (or, with -m, sweep many):  python train.py [-m] model=... data=..."""

import hydra

from bakeoff.app.setup import setup

setup()


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg):
    from bakeoff.app.entry import train_task

    return train_task(cfg)


if __name__ == "__main__":
    main()
