"""`python -m bakeoff.bench [options]`: what `scripts/bench.py` runs, and the subprocess modes."""

from bakeoff.bench import main

main()
