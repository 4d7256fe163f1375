#!/usr/bin/env bash
# The halving demonstration: the full sweep, then the race over the same grid and seeds, one
# after the other, on the offline reviews, CPU. Run from the repository root (or a git-archive
# snapshot of it):
#   bash docs/comparisons/halving/run.sh OUT_DIR
# 12 configurations (MiniLM cut to 2 and to 4 layers, and the random-init tiny_bert, x finetune
# full / layer_decay / freeze_unfreeze / linear_probe) x 2 seeds, a 6-epoch horizon, early
# stopping off (every job has the same horizon, so the full sweep can be replayed). Sized for
# 2 CPU cores: 1500 train reviews, the default 400 val and 1000 test, 64 tokens.
set -euo pipefail
out=${1:?usage: run.sh OUT_DIR}
mkdir -p "$out"
grid=(
  model=minilm_l2,minilm_l4,tiny_bert
  finetune=full,layer_decay,freeze_unfreeze,linear_probe
  seed=1,2
  trainer.max_epochs=6
  data.limit_train=1500
  data.max_length=64
  callbacks.early_stopping=null
  callbacks.progress_bar=null
  logger=csv
)
time_it() { local t0=$SECONDS; "$@" >/dev/null; echo $((SECONDS - t0)); }
full_s=$(time_it python train.py -m "${grid[@]}" hydra.sweep.dir="$out/full" 2>"$out/full.log")
echo "full sweep: ${full_s} s wall" | tee "$out/wall.txt"
race_s=$(time_it python train.py -m hydra/sweeper=halving hydra.sweeper.eta=3 hydra.sweeper.min_epochs=1 \
  "${grid[@]}" hydra.sweep.dir="$out/race" 2>"$out/race.log")
echo "race: ${race_s} s wall" | tee -a "$out/wall.txt"
bakeoff-compare "$out/full" --replay-halving --eta 3 --min-epochs 1 | tee "$out/replay.txt"
