"""The app layer: console scripts, Hydra entry points, start-up, compose, "did you mean"."""
