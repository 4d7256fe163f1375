#!/usr/bin/env bash
# GLUE dev sets: bert vs bert_cased vs roberta vs distilbert, every task with the grid its source
# states (bakeoff/results/reproduce.py: BERT's LR {5e-5,4e-5,3e-5,2e-5} x batch 32 x 3 epochs for
# bert and distilbert; run_glue's LR 2e-5, batch 32, 3 epochs (MRPC 5) for bert_cased;
# RoBERTa's LR {1e-5,2e-5,3e-5} x batch {16,32} x 10 epochs), seeds 1-3, selection on dev, then
# the table beside the DistilBERT, RoBERTa and run_glue published results (conf/reference/).
#
#   bash scripts/reproduce_glue_bert_roberta.sh --dry-run      # every job, estimated GPU-hours
#   bash scripts/reproduce_glue_bert_roberta.sh                # all of it (needs the hub, a GPU)
#   bash scripts/reproduce_glue_bert_roberta.sh --tasks rte,mrpc --models roberta --seeds 1
#   bash scripts/reproduce_glue_bert_roberta.sh --local DIR ...  # GLUE from DIR/<task>-<split>.parquet
# Options: --tasks --models --seeds --lrs --local --out --map PAPER=OURS --tflops; anything else
# is a Hydra override given to every job. Sweeps: logs/multiruns/glue_bert_roberta/<task>/<model>;
# the comparison: logs/multiruns/glue_bert_roberta/comparison/reference.md (+ csv, tex, html,
# reference_pivot.md, reference_delta.png).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" -m bakeoff.results.reproduce glue_bert_roberta "$@"
