#!/usr/bin/env bash
# ImageNet backbones (resnet50, vit_b16, convnext_tiny, efficientnet_b0), fine-tuned and as a
# linear probe, on CIFAR-10, CIFAR-100, Oxford-IIIT Pets and Oxford 102 Flowers after Kornblith,
# Shlens & Le (CVPR 2019): SGD Nesterov, batch 256, 20,000 steps, cosine, LR {0.01, 0.1}, seeds
# 1-3, selection on validation, then the table beside the published cells (conf/reference/:
# simclr_supervised_resnet50, vit_imagenet1k_transfer, efficientnet_transfer; Kornblith et al.'s
# own tables could not be read here, so kornblith_transfer holds their protocol and no cell).
#
#   bash scripts/reproduce_vision_transfer.sh --dry-run      # every job, estimated GPU-hours
#   bash scripts/reproduce_vision_transfer.sh                # all of it (needs the hub, GPUs)
#   bash scripts/reproduce_vision_transfer.sh --tasks pets --models resnet50 --seeds 1
#   bash scripts/reproduce_vision_transfer.sh --local DIR ...  # data from DIR/<name>-<split>.parquet
# Options: --tasks (cifar10,cifar100,pets,flowers) --models --seeds --lrs --local --out --map
# --tflops; anything else is a Hydra override given to every job.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" -m bakeoff.results.reproduce vision_transfer "$@"
