"""Benchmark: the same fine-tuning work three ways, interleaved in one process (issue 5).

  plain            a hand-written PyTorch loop, the reference: AutoModel + mean pooling + linear
                   head, AdamW, cross-entropy
  bakeoff          bakeoff's TaskModule + lightning.Trainer, built from the real Hydra config
  hf_trainer       transformers.Trainer on the same model and the same tokenized batches
  bakeoff_grouped  bakeoff with data.group_by_length=true (its own, less padded batches)

plain, bakeoff and hf_trainer train on the same batches in the same order (same examples, batch
size, max length, precision, threads). Repeats run plain, bakeoff, hf_trainer, bakeoff_grouped,
then the reverse order, and so on, so that machine noise and drift hit all alike, and ratios
are taken within one repeat.
Throughput is the samples of steps 2..N over their wall time, timed at the end of each optimizer
step, for every contender alike: the first step pays for lazy initialisation.
Start-up (process start -> first step) is measured in fresh subprocesses. Writes the whole of
docs/benchmarks.md and prints the same tables.

    python scripts/bench.py                      # make bench: minilm (2 repeats) + tiny_bert (4)
    python scripts/bench.py --workloads tiny_bert --steps 5 --repeats 1 --no-startup
    python -m bakeoff.bench ...                  # the same

One job a module: `options` (command line, paths, threads), `measure` (step clock, peak RSS,
FLOPs, matmul peak), `model` (the hand-written model of the loops that are not bakeoff),
`workloads` (bakeoff's data and the fixed batches), `contenders` (the loops and their
interleaved repeats), `compile_costs` (torch.compile), `startup`, `probe` (linear probe),
`memory` (peak RSS of whole processes), `summary` (medians over repeats), `goals`, `report`
(docs/benchmarks.md) and `benchmark` (every section in turn: `run_benchmark`, `main`).
"""

import os

# Nothing here may reach a hub. Tokenizing uses the Rust tokenizer's threads in every contender,
# as bakeoff's data module does (unset, it warns on fork). Set on importing the package, before
# any of its modules (or of the subprocesses that inherit this environment) loads transformers.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ["TOKENIZERS_PARALLELISM"] = "true"

from bakeoff.bench.benchmark import main, run_benchmark  # noqa: E402  (after the environment)

__all__ = ["main", "run_benchmark"]
