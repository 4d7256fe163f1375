#!/usr/bin/env python
"""Benchmark: the same fine-tuning work three ways, interleaved in one process (issue 5).

plain loop, bakeoff and transformers.Trainer on the same batches; writes docs/benchmarks.md.
The code and its method: the package `bakeoff.bench` (src/bakeoff/bench/).

    python scripts/bench.py                      # make bench: minilm + tiny_bert, 3 repeats
    python scripts/bench.py --workloads tiny_bert --steps 5 --repeats 1 --no-startup
"""

from bakeoff.bench import main

if __name__ == "__main__":
    main()
