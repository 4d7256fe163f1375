#!/usr/bin/env bash
# Copy a sweep's records, without checkpoints or W&B runs, to a folder to commit beside its tables:
# each job's results.json and predictions file(s), the sweep's multirun.yaml (and halving.json of
# a race), and every comparison*/ folder (report.html, leaderboards, plots, inputs.json). Anyone
# can then re-render (`bakeoff-compare DEST`), re-test and replay the comparison.
#   bash scripts/keep_records.sh SWEEP_DIR DEST_DIR      # DEST_DIR must not exist yet
set -euo pipefail
src=${1:?usage: keep_records.sh SWEEP_DIR DEST_DIR}
dest=${2:?usage: keep_records.sh SWEEP_DIR DEST_DIR}
[[ -d $src ]] || { echo "error: SWEEP_DIR: no folder $src" >&2; exit 2; }
[[ -e $dest ]] && { echo "error: DEST_DIR: $dest exists (nothing copied; pick a new folder)" >&2; exit 2; }
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)  # absolute: the copies below run from inside the sweep
cd "$src"
for f in multirun.yaml halving.json; do [[ -f $f ]] && cp "$f" "$dest/"; done
for job in */; do
  job=${job%/}
  if [[ -f $job/results.json ]]; then
    mkdir -p "$dest/$job"
    cp "$job/results.json" "$dest/$job/"
    find "$job" -maxdepth 1 -type f -name '*predictions*' -exec cp {} "$dest/$job/" \;
  elif [[ $job == comparison* ]]; then
    mkdir -p "$dest/$job"
    find "$job" -maxdepth 1 -type f -exec cp {} "$dest/$job/" \;
  fi
done
echo "kept $(find "$dest" -name results.json | wc -l) job records and $(find "$dest" -maxdepth 1 -name 'comparison*' | wc -l) comparison folder(s) in $dest"
