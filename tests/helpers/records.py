"""What a completed run's results.json must hold, checked against the typed record
(bakeoff.record.schema)."""

from __future__ import annotations

# What a completed run must have filled in (everything else may be null, e.g. the GPU memory on
# a CPU run); the types come from the typed record itself (bakeoff.record.schema).
REQUIRED = {
    "": ["status", "run_id", "name", "seed", "overrides", "config"],
    "model": ["name", "source", "params_total", "params_trainable", "flops_per_sample"],
    "data": ["name", "task", "num_classes", "n_train", "n_val", "n_test", "cached_splits"],
    "monitor": ["metric", "mode", "best", "best_epoch"],
    "timing": ["fit_s", "test_s", "train_samples_per_s", "eval_samples_per_s", "startup_s"],
    "resources": ["device", "precision", "world_size", "peak_rss_mb"],
    "paths": ["run_dir", "best_ckpt", "predictions"],
}


METRICS = ("acc", "f1_macro", "precision_macro", "recall_macro", "loss")


def allowed_types(annotation) -> tuple[type, ...]:
    """The runtime types a field annotation admits (None aside); int where float is said."""
    import types
    import typing

    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    args = typing.get_args(annotation) if union else (annotation,)
    kinds = {typing.get_origin(a) or a for a in args if a is not type(None)}
    if float in kinds:
        kinds.add(int)
    return tuple(kinds)


def check_schema(record: dict, required: dict[str, list[str]] = REQUIRED) -> None:
    import dataclasses
    import typing

    from bakeoff.record import schema

    def walk(cls, node: dict, where: str) -> None:
        hints = typing.get_type_hints(cls, vars(schema))
        assert set(node) == {f.name for f in dataclasses.fields(cls)}, where
        for name, annotation in hints.items():
            value = node[name]
            if dataclasses.is_dataclass(annotation):
                walk(annotation, value, f"{where}{name}.")
            elif value is not None:
                assert isinstance(value, allowed_types(annotation)), f"{where}{name}={value!r}"

    walk(schema.Record, record, "")
    for section, keys in required.items():
        node = record[section] if section else record
        assert all(node[k] is not None for k in keys), (section, node)
    for split in ("val", "test"):
        assert all(isinstance(record["metrics"][split][m], (int, float)) for m in METRICS)


def unresolved(node) -> list[str]:
    if isinstance(node, dict):
        return [p for v in node.values() for p in unresolved(v)]
    if isinstance(node, list):
        return [p for v in node for p in unresolved(v)]
    return [node] if isinstance(node, str) and "${" in node else []
