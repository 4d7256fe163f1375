#!/usr/bin/env bash
# The halving demonstration: the full sweep and the race over the same grid and seeds, on the
# offline reviews, CPU. Run from the repository root (or a git-archive snapshot of it):
#   bash docs/comparisons/halving/run.sh OUT_DIR
# 12 configurations (tiny_bert x finetune full/layer_decay/freeze_unfreeze x 4 learning rates,
# the head's too) x 2 seeds, a 6-epoch horizon, early stopping off; sized for a shared 2-core
# machine under load (64 train reviews, 64 val, 64 test, 32 tokens: near chance, a check of
# the mechanics and the cost, not of which fine-tuning setting is best).
set -euo pipefail
out=${1:?usage: run.sh OUT_DIR}
grid=(
  model=tiny_bert
  finetune=full,layer_decay,freeze_unfreeze
  optim.lr=3e-4,1e-3,3e-3,1e-2
  optim.head_lr=null
  seed=1,2
  trainer.max_epochs=6
  data.limit_train=64
  data.limit_val=64
  data.limit_test=64
  data.max_length=32
  data.batch_size=32
  callbacks.early_stopping=null
  callbacks.progress_bar=null
  logger=csv
)
time_it() { local t0=$SECONDS; "$@"; echo $((SECONDS - t0)); }
full_s=$(time_it python train.py -m "${grid[@]}" hydra.sweep.dir="$out/full" 2>"$out/full.log" | tail -1)
echo "full sweep: ${full_s} s wall" | tee "$out/wall.txt"
race_s=$(time_it python train.py -m hydra/sweeper=halving hydra.sweeper.eta=3 hydra.sweeper.min_epochs=1 \
  "${grid[@]}" hydra.sweep.dir="$out/race" 2>"$out/race.log" | tail -1)
echo "race: ${race_s} s wall" | tee -a "$out/wall.txt"
bakeoff-compare "$out/full" --replay-halving --eta 3 --min-epochs 1 | tee "$out/replay.txt"
