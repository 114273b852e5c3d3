"""Throughput of the post-processing blocks in Verilator, default configuration: the
PPU's scaling stage in each mode and the requantizer, columns per cycle over a long
stream with nothing stalling (from the first column in to the last out, so the fill
counts too). The array gives a column per cycle; each block must keep up."""

import json
import tempfile
from pathlib import Path

from golden.config import AcceleratorConfig
from sim.runner import run_cocotb

RUNS = {"ppu_scale": "ppu_scale_stream", "requantizer": "requantizer_stream"}


def run():
    config = AcceleratorConfig()
    results = {"config": config.format_name, "lanes": config.lanes,
               "vector_size": config.vector_size, "simulator": "verilator"}
    for design, testcase in RUNS.items():
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "figures.json"
            _, failures = run_cocotb(config, "verilator", design,
                                     "sim.post_processing_throughput", testcase=testcase,
                                     extra_env={"BENCH_OUT": str(out)})
            if failures or not out.exists():
                raise RuntimeError(f"the {design} stream failed")
            results.update(json.loads(out.read_text()))
    return results
