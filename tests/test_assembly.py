"""One assembly of a run (bakeoff.runs.assembly): the Task is built once and shared."""

from __future__ import annotations


def test_a_run_builds_its_task_once_and_hands_it_to_the_data_and_the_module(tiny_cfg, monkeypatch):
    from bakeoff.runs.assembly import build_run_parts
    from bakeoff.tasks.base import Task

    built = []
    construct = Task.__init__

    def counted(self, *args, **kwargs):
        built.append(type(self).__name__)
        construct(self, *args, **kwargs)

    monkeypatch.setattr(Task, "__init__", counted)
    parts = build_run_parts(tiny_cfg())
    assert built == ["Classification"]
    assert parts.module.task is parts.datamodule.task is parts.task
    # the data fed by the backbone's tokenizer and set up for fit; the head sized by its labels
    assert parts.datamodule.preprocessing.tokenizer is not None
    assert set(parts.datamodule.datasets) == {"train", "val", "test"}
    outputs = parts.module(parts.datamodule.probe_batch())
    assert outputs.shape[-1] == len(parts.datamodule.label_names) == 2
