"""Lightning loggers (CSV, W&B) and W&B's run identity."""
