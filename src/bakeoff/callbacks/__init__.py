"""Lightning callbacks and plugins a run's Trainer uses."""
