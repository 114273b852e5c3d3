"""Throughput of the post-processing blocks in Verilator, default configuration: the
PPU's scaling stage in each mode and the requantizer, columns per cycle over a long
stream with nothing stalling (from the first column in to the last out, so the fill
counts too); the row requantizer, softmax beats per cycle on rows of 197 keys, also
with P = 12, which does not divide V = 16 (a row's last vector may cost a cycle). The
array gives a column per cycle while a tile's columns leave, and the softmax a beat: the
requantizers keep up; the PPU takes a column in `ppu_parts` parts (2 by default), from a
queue that holds the rest of a tile's columns (docs/ppu.md)."""

import dataclasses
import json
import tempfile
from pathlib import Path

from vsq_accel.sim.runner import run_cocotb
from vsq_accel.spec.config import AcceleratorConfig

CONFIG = AcceleratorConfig()
# (design, cocotb test, configuration, suffix of its figures)
RUNS = [("ppu_scale", "ppu_scale_stream", CONFIG, ""),
        ("requantizer", "requantizer_stream", CONFIG, ""),
        ("row_requantizer", "row_requantizer_stream", CONFIG, ""),
        ("row_requantizer", "row_requantizer_stream",
         dataclasses.replace(CONFIG, softmax_width=12), "_p12")]


def run():
    results = {"config": CONFIG.format_name, "lanes": CONFIG.lanes,
               "vector_size": CONFIG.vector_size, "softmax_width": CONFIG.softmax_lanes,
               "simulator": "verilator"}
    for design, testcase, config, suffix in RUNS:
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "figures.json"
            _, failures = run_cocotb(config, "verilator", design,
                                     "vsq_accel.sim.post_processing_throughput", testcase=testcase,
                                     extra_env={"BENCH_OUT": str(out)})
            if failures or not out.exists():
                raise RuntimeError(f"the {design} stream failed")
            results.update({key + suffix: value
                            for key, value in json.loads(out.read_text()).items()})
    return results
