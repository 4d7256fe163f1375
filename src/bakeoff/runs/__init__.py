"""The runs layer: train, the classical baselines, evaluate, predict, the dry run, resume."""
