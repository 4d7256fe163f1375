"""torch.compile: what compiling costs, and what unfreezing a compiled model costs."""

from __future__ import annotations

import statistics
import time
from functools import partial

import torch
import torch.nn.functional as F

from bakeoff.bench.measure import autocast, sync_fn
from bakeoff.bench.model import LR, WEIGHT_DECAY, MeanPoolClassifier, build_encoder
from bakeoff.bench.workloads import Workload, fixed_batches, pad_collate

COMPILE_SCENARIOS = {
    "eager": "eager, no compile (the reference)",
    "compile_then_unfreeze": "compiled at step 1 while frozen, unfrozen half-way",
    "unfreeze_then_compile": "frozen in eager, compiled at the unfreeze (bakeoff's model.compile)",
}


def compile_run(w: Workload, opts, scenario: str, batches: list[list[int]]) -> dict:
    """The plain loop, encoder frozen for the first half of `batches`, then trained.

    Returns each step's seconds and how many graphs dynamo compiled. Compiling in place, as
    bakeoff's FreezeSchedule does (`module.compile()`), keeps parameter names.
    """
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    model = MeanPoolClassifier(build_encoder(w.name, opts.seed), w.num_classes).to(opts.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY, **w.adamw)
    collate, sync = partial(pad_collate, pad_id=w.pad_id), sync_fn(opts.device) or (lambda: None)
    model.encoder.requires_grad_(False)
    if scenario == "compile_then_unfreeze":
        model.encoder.compile(backend=opts.compile_backend)
    times = []
    for step, idx in enumerate(batches):
        if step == len(batches) // 2:
            model.encoder.requires_grad_(True)
            if scenario == "unfreeze_then_compile":
                model.encoder.compile(backend=opts.compile_backend)
        tic = time.perf_counter()
        batch = {k: v.to(opts.device) for k, v in collate([w.train[i] for i in idx]).items()}
        labels = batch.pop("labels")
        with autocast(opts):
            logits = model(**batch)
        F.cross_entropy(logits.float(), labels).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync()
        times.append(time.perf_counter() - tic)
    graphs = int(counters["stats"]["unique_graphs"])
    torch._dynamo.reset()
    return {"step_s": times, "graphs": graphs}


def compile_costs(w: Workload, opts) -> dict:
    """Each scenario on the same batches; costs are seconds beyond eager's on the same steps."""
    batches = fixed_batches(len(w.train), opts.batch_size, opts.compile_steps, opts.seed + 1)
    half = len(batches) // 2
    runs = {}
    import torch._inductor.config as inductor_config

    for scenario in COMPILE_SCENARIOS:
        try:
            # Cold compiles, as in a user's first run: inductor's on-disk caches would let a
            # later scenario reuse an earlier one's kernels.
            with inductor_config.patch(force_disable_caches=True):
                runs[scenario] = compile_run(w, opts, scenario, batches)
        except Exception as err:  # e.g. no C++ compiler for inductor on this machine
            runs[scenario] = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"}
        print(f"[compile] {scenario}: {runs[scenario].get('error') or 'done'}", flush=True)
    eager = runs["eager"].get("step_s")
    if eager is None:
        return {"steps": len(batches), "backend": opts.compile_backend, "runs": runs}
    tail = slice(len(batches) - max(1, half // 2), None)  # the last quarter: compiled and warm
    for r in runs.values():
        if "step_s" not in r:
            continue
        t = r["step_s"]
        r["extra_frozen_s"] = sum(t[:half]) - sum(eager[:half])
        r["extra_after_unfreeze_s"] = sum(t[half:]) - sum(eager[half:])
        r["steady_step_ms"] = 1000 * statistics.median(t[tail])
    return {"steps": len(batches), "backend": opts.compile_backend, "runs": runs}
