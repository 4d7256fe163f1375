"""One workload: bakeoff's data and config for a model name, and the fixed batches all train on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch.utils.data import Dataset

from bakeoff.app.compose import compose
from bakeoff.bench.measure import flop_spec
from bakeoff.bench.model import MeanPoolClassifier, build_encoder, minilm_tokenizer


def as_dataset(rows: list[dict]) -> Dataset:
    """A list of examples as the map-style Dataset it is (len and indexing), for DataLoader."""
    return cast(Dataset, rows)


def pad_collate(examples: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    """Dynamic padding to the longest example of the batch (what bakeoff does too)."""
    width = max(len(e["input_ids"]) for e in examples)
    batch = {}
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        if key in examples[0]:
            fill = pad_id if key == "input_ids" else 0
            rows = [e[key] + [fill] * (width - len(e[key])) for e in examples]
            batch[key] = torch.tensor(rows, dtype=torch.long)
    batch["labels"] = torch.tensor([e["labels"] for e in examples], dtype=torch.long)
    return batch


def fixed_batches(n: int, batch_size: int, steps: int, seed: int) -> list[list[int]]:
    """`steps` full batches of a seeded shuffle (more epochs if one is not enough)."""
    rng = np.random.default_rng(seed)
    order: list[int] = []
    while len(order) < steps * batch_size:
        order += rng.permutation(n).tolist()
    return [order[i * batch_size : (i + 1) * batch_size] for i in range(steps)]


def examples_of(dataset) -> list[dict]:
    """bakeoff's tokenized split as plain dicts of token-id lists (what the other loops eat)."""
    keys = list(dataset.encodings)
    return [
        {**{k: dataset.encodings[k][i] for k in keys}, "labels": int(dataset.targets[i])}
        for i in range(len(dataset))
    ]


@dataclass
class Workload:
    name: str
    cfg: Any  # bakeoff's composed config, random batches
    cfg_grouped: Any  # the same with data.group_by_length=true
    dm: Any  # bakeoff's DataModule, set up once: its tokenized splits feed every contender
    dm_grouped: Any
    train: list[dict]  # position i = example i of dm's train split
    test: list[dict]  # the first --eval-samples test reviews
    batches: list[list[int]]  # what plain, bakeoff and hf_trainer train on, in this order
    lengths: np.ndarray  # real tokens per train example
    pad_id: int
    num_classes: int
    eval_batch_size: int
    spec: tuple[int, int, int, int]  # for train_flops
    adamw: dict  # conf/optim/adamw.yaml's AdamW arguments (betas, eps, fused), for the plain loop


def bakeoff_overrides(workload: str, opts, out_dir: Path, grouped: bool) -> list[str]:
    """A real bakeoff run minus what happens after training (val, checkpoints, test, W&B)."""
    return [
        f"model={workload}",
        f"seed={opts.seed}",
        f"data.batch_size={opts.batch_size}",
        f"data.max_length={opts.max_length}",
        f"data.limit_test={opts.eval_samples}",
        f"data.group_by_length={str(grouped).lower()}",
        f"trainer.accelerator={'gpu' if opts.device == 'cuda' else 'cpu'}",
        "trainer.devices=1",
        f"trainer.precision={opts.precision}",
        f"trainer.max_steps={opts.steps}",
        "trainer.max_epochs=-1",
        "trainer.limit_val_batches=0",
        "trainer.enable_progress_bar=false",
        "logger=csv",
        "callbacks.progress_bar=null",
        "callbacks.early_stopping=null",
        "callbacks.model_checkpoint=null",
        "test=false",
        f"paths.output_dir={out_dir}",
        f"data.cache_dir={out_dir.parent / 'tokens'}",  # the start-up runs read it back
    ]


def prepare(workload: str, opts, tmp: Path) -> Workload:
    from omegaconf import OmegaConf

    from bakeoff.models.backbones import TextPreprocessing
    from bakeoff.runs.assembly import build_run_parts

    tokenizer = minilm_tokenizer()  # both workloads use the packaged MiniLM WordPiece tokenizer
    cfgs, dms = {}, {}
    for grouped in (False, True):
        cfgs[grouped] = compose(bakeoff_overrides(workload, opts, tmp / workload, grouped))
        # the data only: every contender trains on these tokenized splits (bakeoff's own model
        # is built on this DataModule in run_bakeoff)
        preprocessing = TextPreprocessing(tokenizer)
        dms[grouped] = build_run_parts(
            cfgs[grouped], model=False, preprocessing=preprocessing
        ).datamodule
    dm = dms[False]
    train = examples_of(dm.datasets["train"])
    spec = flop_spec(MeanPoolClassifier(build_encoder(workload, opts.seed), dm.num_classes))
    return Workload(
        name=workload,
        cfg=cfgs[False],
        cfg_grouped=cfgs[True],
        dm=dm,
        dm_grouped=dms[True],
        train=train,
        test=examples_of(dm.datasets["test"]),
        batches=fixed_batches(len(train), opts.batch_size, opts.steps, opts.seed),
        lengths=np.asarray(dm.datasets["train"].lengths),
        pad_id=dm.pad_id,
        num_classes=dm.num_classes,
        eval_batch_size=int(cfgs[False].data.eval_batch_size),
        spec=spec,
        adamw={
            k: v
            for k, v in cast(dict, OmegaConf.to_container(cfgs[False].optim.optimizer)).items()
            if not k.startswith("_")
        },
    )


def default_data(cache_dir: Path, output_dir: Path):
    """The default job's data (data=amazon_reviews: all reviews, max length 256), set up, its
    tokenized splits read from (or written to) the token cache in `cache_dir`."""
    from bakeoff.models.backbones import TextPreprocessing
    from bakeoff.runs.assembly import build_run_parts

    cfg = compose(["logger=csv", f"data.cache_dir={cache_dir}", f"paths.output_dir={output_dir}"])
    preprocessing = TextPreprocessing(minilm_tokenizer())
    return cfg, build_run_parts(cfg, model=False, preprocessing=preprocessing).datamodule
