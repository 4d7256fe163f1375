"""`python -m bakeoff.predict <overrides>`: the same command as `bakeoff-predict` (the code is
bakeoff.runs.predict; this name stays so that `python -m` finds the command where users look)."""

if __name__ == "__main__":
    from bakeoff.app.cli import predict

    predict()
