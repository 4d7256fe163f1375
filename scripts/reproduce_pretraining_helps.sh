#!/usr/bin/env bash
# pretraining_helps, the whole table from one command: pretrained vs random-init vs linear probe
# for MiniLM on Amazon reviews and MobileNetV2 on Fashion-MNIST, 3 seeds, plus TF-IDF + LR and
# majority-class rows (conf/experiment/pretraining_helps.yaml). Offline, CPU, under 90 min on
# 2 cores; the table measured here is in docs/paper_tables.md.
#
#   bash scripts/reproduce_pretraining_helps.sh [--dry-run] [OVERRIDES...]
#
# --dry-run prints every job with its overrides and runs nothing. Otherwise: the sweep in
# $OUT (default logs/multiruns/pretraining_helps_<UTC time>), its leaderboard of all jobs in
# $OUT/comparison, then one leaderboard per data set in $OUT/comparison_<data> (the two data
# sets' rows are not comparable with each other). Exits non-zero when a job failed.
set -euo pipefail
py=${PYTHON:-python}
here=$(cd "$(dirname "$0")/.." && pwd)

if [[ ${1:-} == --dry-run ]]; then
  shift
  "$py" - "$here/conf/experiment/pretraining_helps.yaml" "$@" <<'PY'
import itertools
import sys

import yaml

experiment, extra = sys.argv[1], sys.argv[2:]
axes = yaml.safe_load(open(experiment))["hydra"]["sweeper"]["params"]
for arg in extra:  # a command-line axis replaces the file's, as in a Hydra sweep
    key, _, value = arg.partition("=")
    if key in axes:
        axes[key] = value
fixed = [a for a in extra if a.partition("=")[0] not in axes]
jobs = list(itertools.product(*(str(v).split(",") for v in axes.values())))
for i, values in enumerate(jobs):
    overrides = [f"{k}={v}" for k, v in zip(axes, values)]
    print(f"job {i}: python train.py experiment=pretraining_helps {' '.join(overrides + fixed)}")
print(f"{len(jobs)} jobs; on 2 CPU cores the whole sweep took ~1 h (docs/paper_tables.md)")
PY
  exit 0
fi

out=${OUT:-logs/multiruns/pretraining_helps_$(date -u +%Y-%m-%d_%H-%M-%S)}
start=$(date +%s)
status=0
"$py" "$here/train.py" -m experiment=pretraining_helps "hydra.sweep.dir=$out" "$@" || status=$?
echo "sweep wall time: $(($(date +%s) - start)) s (exit status $status)"

for data in amazon_reviews fashion_mnist; do
  mapfile -t dirs < <("$py" - "$out" "$data" <<'PY'
import json
import sys
from pathlib import Path

sweep, data = Path(sys.argv[1]), sys.argv[2]
for record in sorted(sweep.glob("*/results.json")):
    if json.loads(record.read_text())["data"]["name"] == data:
        print(record.parent)
PY
  )
  if ((${#dirs[@]})); then
    "$py" -m bakeoff.results.comparison "${dirs[@]}" --out "$out/comparison_$data"
  fi
done
exit "$status"
