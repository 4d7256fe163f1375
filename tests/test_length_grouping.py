"""Length-grouped batches: every example once per epoch, little padding, shards under DDP; and
a fixed batch order (`TaskData.fix_train_batches`)."""

from __future__ import annotations

import numpy as np
from torch.utils.data import DistributedSampler

from bakeoff.data.text import LengthGroupedBatchSampler, length_grouped_batches

RNG = np.random.default_rng(0)
LENGTHS = RNG.integers(5, 300, size=1000)


def padded_fraction(batches) -> float:
    real = sum(int(LENGTHS[b].sum()) for b in batches)
    return 1 - real / sum(int(LENGTHS[b].max()) * len(b) for b in batches)


def test_each_example_once_per_epoch_with_little_padding_and_a_new_order_each_epoch():
    sampler = length_grouped_batches(LENGTHS, batch_size=32, seed=3)
    first, second = list(sampler), list(sampler)
    for epoch in (first, second):
        assert sorted(i for b in epoch for i in b) == list(range(1000))
        assert len(epoch) == len(sampler) == 32  # ceil(1000 / 32)
    assert first != second
    random_batches = [list(range(i, min(i + 32, 1000))) for i in range(0, 1000, 32)]
    assert padded_fraction(first) < 0.05 < 0.3 < padded_fraction(random_batches)
    assert list(length_grouped_batches(LENGTHS, 32, seed=3)) == first  # same seed, same order


def test_distributed_shards_are_disjoint_and_equal_in_batches():
    """What Lightning builds under DDP: our batch sampler around its DistributedSampler."""
    shards = []
    for rank in (0, 1):
        dist = DistributedSampler(range(1000), num_replicas=2, rank=rank, shuffle=True, seed=5)
        shards.append(list(LengthGroupedBatchSampler(dist, 32, lengths=LENGTHS, seed=5)))
    ids = [{i for b in shard for i in b} for shard in shards]
    assert not ids[0] & ids[1] and ids[0] | ids[1] == set(range(1000))
    assert len(shards[0]) == len(shards[1]) == 16  # DDP needs the same step count per rank


def test_fixed_train_batches_are_served_in_order_and_counted(tiny_cfg):
    import lightning as L

    from bakeoff.runs.assembly import build_run_parts

    # fixed batches win over grouping too; the tokens are counted as batches arrive in fit
    cfg = tiny_cfg("data.group_by_length=true", "data.num_workers=0")
    parts = build_run_parts(cfg)
    dm = parts.datamodule
    batches = [[5, 0, 17], [3], [29, 1, 8, 22], [5, 0, 17]]
    dm.fix_train_batches(np.asarray(b) for b in batches)
    ids = dm.datasets["train"].encodings["input_ids"]
    for _ in range(2):  # every epoch the same
        served = list(dm.train_dataloader())
        assert [b["index"].tolist() for b in served] == batches
        for batch, idx in zip(served, batches, strict=True):
            width = max(len(ids[i]) for i in idx)
            assert batch["input_ids"].tolist() == [
                ids[i] + [dm.pad_id] * (width - len(ids[i])) for i in idx
            ]
            assert batch["labels"].tolist() == [dm.datasets["train"].targets[i] for i in idx]
    assert dm.tokens == {"real": 0, "padded": 0}  # read outside a fit: nothing trained on

    # Two epochs of a real fit on the fixed batches: each training batch counted once.
    trainer = L.Trainer(
        max_epochs=2,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(parts.module, datamodule=dm)
    real = 2 * sum(len(ids[i]) for b in batches for i in b)
    total = 2 * sum(max(len(ids[i]) for i in b) * len(b) for b in batches)
    assert dm.tokens == {"real": real, "padded": total - real}  # as the usual train loader counts
    assert dm.padded_fraction() == (total - real) / total

    dm.fix_train_batches(None)  # back to bakeoff's own (here length-grouped) batches
    again = [i for b in dm.train_dataloader() for i in b["index"].tolist()]
    assert sorted(again) == list(range(len(dm.datasets["train"])))


def test_padding_is_counted_when_loader_workers_collate(tiny_cfg, tmp_path):
    """A worker collates into its own copy of the DataModule: its batches are counted when
    they reach the main process, so the run's padded-token fraction is the same either way."""
    from bakeoff.runs.train import run

    fractions = {}
    for workers in (0, 1):
        cfg = tiny_cfg(
            "logger=csv",
            "trainer.max_epochs=1",
            "test=false",
            f"data.num_workers={workers}",
            f"paths.output_dir={tmp_path / f'workers{workers}'}",
        )
        fractions[workers] = run(cfg)["data"]["padded_token_fraction"]
    assert fractions[0] is not None and 0.0 <= fractions[0] < 1.0
    assert fractions[1] == fractions[0]  # the same batches, counted in the main process
