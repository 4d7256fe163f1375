#!/usr/bin/env bash
# The halving demonstration: a full sweep, then the race over the same grid and seeds, one after
# the other, on the offline reviews, CPU. Run from the repository root (or a git-archive
# snapshot of it):
#   bash docs/comparisons/halving/run.sh GRID OUT_DIR       # GRID: finetune or lr
# Both grids: 12 configurations x 2 seeds, early stopping off (every job has the same horizon,
# so the full sweep can be replayed), the default 400 val and 1000 test reviews, 64 tokens.
# - finetune: MiniLM cut to 2 and to 4 layers, and the random-init tiny_bert, x finetune
#   full / layer_decay / freeze_unfreeze / linear_probe; 1500 train reviews, a 6-epoch horizon.
# - lr: the same three backbones x optim.lr 2e-5 / 5e-5 / 1e-4 / 2e-4, full fine-tuning;
#   800 train reviews, a 9-epoch horizon.
set -euo pipefail
grid_name=${1:?usage: run.sh GRID OUT_DIR}
out=${2:?usage: run.sh GRID OUT_DIR}
common=(seed=1,2 data.max_length=64 callbacks.early_stopping=null callbacks.progress_bar=null logger=csv)
case $grid_name in
  finetune) grid=(model=minilm_l2,minilm_l4,tiny_bert finetune=full,layer_decay,freeze_unfreeze,linear_probe
                  trainer.max_epochs=6 data.limit_train=1500 "${common[@]}") ;;
  lr) grid=(model=minilm_l2,minilm_l4,tiny_bert optim.lr=2e-5,5e-5,1e-4,2e-4 finetune=full
            trainer.max_epochs=9 data.limit_train=800 "${common[@]}") ;;
  *) echo "error: GRID: '$grid_name' is not one of finetune, lr" >&2; exit 2 ;;
esac
mkdir -p "$out"
time_it() { local t0=$SECONDS; "$@" >/dev/null; echo $((SECONDS - t0)); }
full_s=$(time_it python train.py -m "${grid[@]}" hydra.sweep.dir="$out/full" 2>"$out/full.log")
echo "full sweep: ${full_s} s wall" | tee "$out/wall.txt"
race_s=$(time_it python train.py -m hydra/sweeper=halving hydra.sweeper.eta=3 hydra.sweeper.min_epochs=1 \
  "${grid[@]}" hydra.sweep.dir="$out/race" 2>"$out/race.log")
echo "race: ${race_s} s wall" | tee -a "$out/wall.txt"
bakeoff-compare "$out/full" --replay-halving --eta 3 --min-epochs 1 | tee "$out/replay.txt"
