#!/usr/bin/env bash
# CoNLL-2003 NER: bert_cased and roberta, entity F1 on dev and test, with the BERT paper's grid
# (appendix A.3: LR {5e-5,3e-5,2e-5} x batch {16,32}, the best dev epoch of 4; 5 restarts), then
# the table beside the BERT paper's Table 7 (conf/reference/bert_conll2003.yaml).
#
#   bash scripts/reproduce_conll_ner.sh --dry-run      # every job, estimated GPU-hours
#   bash scripts/reproduce_conll_ner.sh                # all of it (needs the hub, a GPU)
#   bash scripts/reproduce_conll_ner.sh --models bert_cased --seeds 1 data.source.path=/my/conll
# Options: --models --seeds --lrs --out --map PAPER=OURS --tflops; anything else is a Hydra
# override given to every job. Sweeps: logs/multiruns/conll_ner/conll2003/<model>; the
# comparison: logs/multiruns/conll_ner/comparison/reference.md (+ csv, tex, html, pivot, png).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" -m bakeoff.results.reproduce conll_ner "$@"
