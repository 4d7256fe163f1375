#!/usr/bin/env bash
# Per-backbone search, then compare: each backbone gets its own Optuna search over the learning
# rates (a resumable sqlite study per backbone, selected on validation), then every backbone is
# trained at its own best setting on the same seeds, and one leaderboard compares them.
#
#   bash scripts/search_then_compare.sh NAME "MODELS" "SEEDS" [OVERRIDES...]
#   bash scripts/search_then_compare.sh glue_mrpc "bert roberta" "1,2,3" data=glue_mrpc
#
# Searches: logs/optuna.db, studies <model>-<data>; re-running the script continues them (set
# hydra.sweeper.n_trials in OVERRIDES for the number of new trials). Final runs:
# logs/multiruns/NAME/<model>/<job>; the leaderboard: logs/multiruns/NAME/comparison/.
set -euo pipefail
name=$1 models=$2 seeds=$3
shift 3
py=${PYTHON:-python}
here=$(cd "$(dirname "$0")/.." && pwd)
out=logs/multiruns/$name
for model in $models; do
  "$py" "$here/train.py" hparams_search=optuna "model=$model" "$@"
done
# The final runs take the same overrides minus the search's own (hydra.sweeper.*).
final=()
for arg in "$@"; do
  [[ $arg == hydra.sweeper.* ]] || final+=("$arg")
done
for model in $models; do
  data=$("$py" - "$here" "model=$model" "$@" <<'PY'
import sys
from bakeoff.app.compose import compose
print(compose(["hparams_search=optuna", *sys.argv[2:]]).data.name)  # the study's data name
PY
)
  best=$("$py" -m bakeoff.results.best_trial --storage logs/optuna.db --study "$model-$data")
  echo "$model: best setting on validation: $best"
  # shellcheck disable=SC2086  # $best is a list of overrides
  "$py" "$here/train.py" -m "model=$model" $best "seed=$seeds" "${final[@]}" \
    "hydra.sweep.dir=$out/$model"
done
"$py" -m bakeoff.results.comparison "$out" --group-by model.name
