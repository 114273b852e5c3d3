"""Softmax unit throughput in Verilator simulation, default configuration (P = 16).

A long stream of rows of 128 and of 197 logits with nothing stalling: elements per
cycle against P, from the first accepted beat to the last output beat. A row starts on
a fresh beat, so a 197-logit row takes 13 beats of 16 (208 slots) and its element
throughput is at most 197/208 = 0.947 P even when the unit takes a beat every cycle;
beats per cycle shows the unit itself.
"""

import json
import tempfile
from pathlib import Path

from vsq_accel.sim.runner import run_cocotb
from vsq_accel.spec.config import AcceleratorConfig

ROWS = 300


def run():
    config = AcceleratorConfig()
    lanes = config.softmax_lanes
    results = {"softmax_lanes": lanes, "rows": ROWS, "simulator": "verilator"}
    for length in (128, 197):
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "figures.json"
            _, failures = run_cocotb(
                config, "verilator", "softmax_unit", "vsq_accel.sim.softmax_throughput",
                extra_env={"BENCH_ROW_LENGTH": str(length), "BENCH_ROWS": str(ROWS),
                           "BENCH_OUT": str(out)})
            if failures or not out.exists():
                raise RuntimeError(f"the softmax stream of rows of {length} failed")
            figures = json.loads(out.read_text())
        results[f"throughput_per_p_row{length}"] = figures["elements"] / figures["cycles"] / lanes
        results[f"beats_per_cycle_row{length}"] = figures["beats"] / figures["cycles"]
        results[f"cycles_row{length}"] = figures["cycles"]
        results[f"latency_cycles_row{length}"] = figures["latency_cycles"]
    return results
