"""TaskModule: the one LightningModule. Backbone adapter + the task's head, loss, metrics + optimizer.

Everything that differs between task kinds (head, loss, metrics, what a test step keeps) comes
from the task object (`bakeoff.tasks`); this module has no per-kind branches. Only plain config
(dicts, names, numbers) goes into `save_hyperparameters`, so checkpoints load with torch's
`weights_only=True`; the module rebuilds backbone, task and head from that config.
"""

from __future__ import annotations

from typing import Any, cast

import lightning as L
import torch
from torch import Tensor
from torchmetrics import Metric, MetricCollection

from bakeoff.errors import ConfigError
from bakeoff.models.backbones import Backbone
from bakeoff.models.finetune import set_batchnorm_eval, set_batchnorm_train
from bakeoff.models.schedules import lr_lambda
from bakeoff.tasks.metrics import loss_meter
from bakeoff.utils.build import build as instantiate


class TaskModule(L.LightningModule):
    run_config: dict[str, Any] | None = None  # the resolved run config, saved in checkpoints

    def __init__(
        self,
        model: dict[str, Any],
        task: dict[str, Any],
        finetune: dict[str, Any],
        optim: dict[str, Any],
        scheduler: dict[str, Any],
        label_names: list[str],
        val_sets: list[str] | None = None,
        backbone: Backbone | None = None,
        built_task: Any = None,
    ) -> None:
        super().__init__()
        # Plain config only: the checkpoint must load with weights_only=True and rebuild from it.
        # A run hands over the backbone and the Task it built (bakeoff.runs.assembly); a checkpoint
        # load builds them here, from that config.
        self.save_hyperparameters(ignore=["backbone", "built_task"])
        self.backbone: Backbone = (
            backbone if backbone is not None else instantiate(model["backbone"])
        )
        self.task = built_task if built_task is not None else instantiate(task)
        self.head = self.task.build_head(
            self.backbone.feature_dim, label_names, model.get("head_dropout", 0.0)
        )
        self.strategy = instantiate(finetune)
        self.backbone_groups = self.backbone.layer_groups()
        self.trainable_history: list[dict[str, int]] = []
        self.compiled_at_epoch: int | None = None  # set by FreezeSchedule when model.compile
        # Set by FeatureCache when no backbone group trains in this run: the backbone then stays
        # in eval mode, and the head may train on its cached features ("computed" / "read").
        self.backbone_frozen = False
        self.feature_cache_status: str | None = None
        self._metrics_logged: set[str] = set()  # stages whose metrics were logged this epoch
        # One metric collection and loss per stage; extra validation sets (MNLI mismatched) have
        # their own, logged as val_<name>/<metric>.
        self.val_sets = list(val_sets or ["val"])
        self.stages = ["train", *self.val_sets, "test"]
        self.metrics = torch.nn.ModuleDict(
            {
                f"{stage}_metrics": self.task.metrics(label_names, validate=stage != "train")
                for stage in self.stages
            }
        )
        # An example-weighted mean on device, read once per epoch (no per-step NaN check).
        self.losses = torch.nn.ModuleDict({f"{stage}_loss": loss_meter() for stage in self.stages})
        self.test_outputs: list[dict[str, Any]] = []
        # (outputs, index and labels) of each test batch, on the device until the epoch ends
        self._test_batches: list[tuple[Tensor, dict[str, Tensor]]] = []

    @classmethod
    def from_config(cls, cfg, datamodule, backbone: Backbone) -> TaskModule:
        """The module a run config describes, for the labels and the Task of a set-up DataModule."""
        from omegaconf import OmegaConf

        def plain(node):
            return OmegaConf.to_container(node, resolve=True)

        return cls(
            model=plain(cfg.model),
            task=plain(cfg.task),
            finetune=plain(cfg.finetune),
            optim=plain(cfg.optim),
            scheduler=plain(cfg.scheduler),
            label_names=datamodule.label_names,
            val_sets=datamodule.val_sets,
            backbone=backbone,
            built_task=datamodule.task,
        )

    # -- forward ------------------------------------------------------------------------------
    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        if "features" in batch:  # the frozen backbone's cached output (models/feature_cache.py)
            return self.head(batch["features"])
        return self.head(self.task.features(self.backbone, batch))

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.backbone_frozen:  # frozen for the whole run: no dropout in it either
            self.backbone.eval()
            if self.strategy.train_bn:  # asked for: its BatchNorm still adapts its statistics
                set_batchnorm_train(self.backbone)
        elif mode and not self.strategy.train_bn:
            set_batchnorm_eval(self.backbone)
        return self

    def configure_callbacks(self):
        from bakeoff.models.feature_cache import FeatureCache

        if any(isinstance(c, FeatureCache) for c in self.trainer.callbacks):
            return []  # attached by an earlier fit or test of this trainer
        return [FeatureCache()]

    def param_counts(self) -> dict[str, int]:
        params = list(self.backbone.parameters()) + list(self.head.parameters())
        return {
            "total": sum(p.numel() for p in params),
            "trainable": sum(p.numel() for p in params if p.requires_grad),
        }

    # -- steps --------------------------------------------------------------------------------
    def _shared_step(self, batch: dict[str, Tensor], stage: str) -> tuple[Tensor, Tensor]:
        outputs = self(batch)
        targets = self.task.targets(batch)
        loss = self.task.loss(outputs, targets)
        metrics = cast(MetricCollection, self.metrics[f"{stage}_metrics"])
        metrics.update(*self.task.metric_inputs(outputs.detach(), targets))
        n = batch["labels"].shape[0]
        # The loss is averaged on device, weighted by batch size (examples), read once per epoch.
        cast(Metric, self.losses[f"{stage}_loss"]).update(loss.detach(), weight=n)
        if stage not in self._metrics_logged:
            # A logged Metric object is computed (and reset) by Lightning at epoch end from the
            # updates above; logging it once per epoch is enough, and each log call moves its
            # states (~1 ms per metric per step on CPU).
            self._metrics_logged.add(stage)
            logged: dict[str, Any] = {f"{stage}/loss": self.losses[f"{stage}_loss"]}
            logged |= {f"{stage}/{k}": m for k, m in metrics.items()}
            self.log_dict(logged, on_step=False, on_epoch=True, add_dataloader_idx=False)
        return loss, outputs

    def on_train_epoch_start(self) -> None:
        self._metrics_logged.discard("train")

    def on_validation_epoch_start(self) -> None:
        self._metrics_logged.difference_update(self.val_sets)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        return self._shared_step(batch, "train")[0]

    def validation_step(
        self, batch: dict[str, Tensor], batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        self._shared_step(batch, self.val_sets[dataloader_idx])

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        _, outputs = self._shared_step(batch, "test")
        # Kept on the device: a copy to the host here would wait for the device at every step.
        # The task gathers them (to the CPU) once the loop is done, in on_test_epoch_end.
        kept = {"index": batch["index"], **{k: batch[k] for k in self.task.label_keys}}
        self._test_batches.append((outputs.detach(), kept))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # The whole resolved run config (plain containers): eval/predict rebuild data from it.
        if getattr(self, "run_config", None) is not None:
            checkpoint["bakeoff_config"] = self.run_config

    def on_test_epoch_start(self) -> None:
        self.test_outputs, self._test_batches = [], []
        self._metrics_logged.discard("test")

    def on_fit_end(self) -> None:
        # The loggers got the hyperparameters at fit start. Lightning logs them again at every
        # later stage (the test after fit): the CSV logger rewrites hparams.yaml, ~15 ms.
        self._log_hyperparams = False

    def on_test_epoch_end(self) -> None:
        self.test_outputs = [self.task.gather(out, kept) for out, kept in self._test_batches]
        self._test_batches = []
        # Under DDP every rank tested its shard (DistributedSampler, padded with repeats to
        # equal length): every rank gets all shards' outputs, each example once, so rank 0's
        # predictions file covers the whole test split.
        trainer = self._trainer
        dist = torch.distributed
        if trainer is None or trainer.world_size == 1 or not dist.is_initialized():
            return
        shards: list[Any] = [None] * trainer.world_size
        dist.all_gather_object(shards, self.test_outputs)
        self.test_outputs = unique_examples([batch for shard in shards for batch in shard])

    def predict_step(self, batch: dict[str, Tensor], batch_idx: int) -> dict[str, Any]:
        return self.task.gather(self(batch), batch)

    # -- optimisation -------------------------------------------------------------------------
    def param_groups(self) -> list[dict[str, Any]]:
        """One group per backbone layer group (x decay / no-decay) plus the head, all up front."""
        optim = self.hparams["optim"]  # its values checked by the checks layer (check_optim)
        n = len(self.backbone_groups)
        named = {id(p): name for name, p in self.named_parameters()}
        groups: list[dict[str, Any]] = []

        def add(params, lr: float, tag: str) -> None:
            # No weight decay on biases and norm weights (1-d tensors), as BERT/timm recipes do.
            decay = [p for p in params if p.ndim > 1]
            no_decay = [p for p in params if p.ndim <= 1]
            for ps, wd, suffix in (
                (decay, optim["weight_decay"], ""),
                (no_decay, 0.0, "_no_decay"),
            ):
                if ps:
                    groups.append(
                        {"params": ps, "lr": lr, "weight_decay": wd, "name": tag + suffix}
                    )

        for i, params in enumerate(self.backbone_groups):
            add(params, optim["lr"] * self.strategy.lr_scale(i, n), f"backbone_{i}")
        head_lr = optim["head_lr"] if optim.get("head_lr") is not None else optim["lr"]
        if self.strategy.head_lr is not None:  # e.g. linear_probe's own, larger head LR
            head_lr = self.strategy.head_lr
        add(list(self.head.parameters()), head_lr, "head")
        assert sum(len(g["params"]) for g in groups) == len(named)  # every param in one group
        return groups

    def configure_optimizers(self):
        optimizer = instantiate(self.hparams.optim["optimizer"])(self.param_groups())
        # A fused optimizer unscales fp16 gradients inside step(), after clipping would run.
        fp16 = self.trainer.precision == "16-mixed"
        if optimizer.defaults.get("fused") and fp16 and self.trainer.gradient_clip_val:
            raise ConfigError(
                "trainer.gradient_clip_val needs unfused gradients under precision=16-mixed: "
                "set optim.optimizer.fused=false, or use trainer.precision=bf16-mixed"
            )
        sched = self.hparams.scheduler
        total = max(1, int(self.trainer.estimated_stepping_batches))
        factor = lr_lambda(sched["name"], total, sched["warmup_ratio"], sched["min_lr_ratio"])
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def unique_examples(batches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gathered test batches with each example (by `index`) kept once, in the order first seen."""
    seen: set[int] = set()
    out = []
    for batch in batches:
        keep = []
        for pos, i in enumerate(batch["index"].tolist()):
            if i not in seen:
                seen.add(i)
                keep.append(pos)
        if not keep:
            continue
        rows = torch.tensor(keep, dtype=torch.long)
        out.append(
            {
                k: v[rows] if isinstance(v, Tensor) else [v[pos] for pos in keep]
                for k, v in batch.items()
            }
        )
    return out
