"""The checks layer: a composed config checked before any weights load."""
