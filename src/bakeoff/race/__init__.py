"""Successive halving over a Hydra sweep (`hydra/sweeper=halving`, docs/halving.md).

- `plan`: the rungs' budgets, the ranking and who is kept; the settings' checks.
- `state`: the race's state file in the sweep dir (`halving.json`), read back by a re-run.
- `race`: the race itself, launching each rung through a launcher callable.
- the replay on a finished full sweep is bakeoff.results.halving_replay (it reads the sweep
  through the comparison's collection).
- `report`: the race's section of the leaderboard.
The Hydra plugin is `hydra_plugins.bakeoff_halving` (Hydra finds sweepers only there).
"""
