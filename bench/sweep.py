"""`python -m vsq_accel.bench sweep`: the DeiT-S design space of configs/sweeps/deit_s.json
(vector size x lanes x scale bits; perf, energy, the array's synthesis, accuracy) run as
a sweep on a local Ray twice, with 1 worker and with 2, in one run: the wall times and
the speedup to results/sweep.json; the 2-worker run's table and Pareto plot to
results/sweep_deit_s/. The tasks' own seconds bound the speedup: no number of workers
finishes before the longest task, nor before the work divided among them."""

import shutil
import tempfile
import time
from pathlib import Path

from vsq_accel.sweep.pareto import plot_pareto
from vsq_accel.sweep.runner import run_sweep
from vsq_accel.sweep.space import load_space

SPACE = Path(__file__).resolve().parents[1] / "configs" / "sweeps" / "deit_s.json"
OUT = Path(__file__).resolve().parent / "results" / "sweep_deit_s"


def run():
    space = load_space(SPACE)
    shutil.rmtree(OUT, ignore_errors=True)
    figures = {"configurations": len(space.configs)}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as scratch:
            start = time.monotonic()
            results = run_sweep(space, OUT if workers == 2 else scratch, workers=workers)
            wall = time.monotonic() - start
        outcomes = results.outcomes.values()
        seconds = [outcome["seconds"] for outcome in outcomes]
        figures |= {f"wall_s_{workers}_workers": round(wall, 1),
                    f"task_seconds_{workers}_workers": round(sum(seconds), 1),
                    f"failed_{workers}_workers": sum(o["status"] != "done" for o in outcomes)}
    rows = results.rows()
    plot_pareto(rows, OUT / "pareto.png", f"{space.name}: {len(rows)} configurations")
    work = figures["task_seconds_1_workers"]
    return {**figures, "tasks": len(seconds), "longest_task_s": max(seconds),
            "speedup_2_workers": round(figures["wall_s_1_workers"] /
                                       figures["wall_s_2_workers"], 2),
            # at best, 2 workers halve the work, unless the longest task is longer
            "speedup_bound_2_workers": round(work / max(work / 2, max(seconds)), 2)}
