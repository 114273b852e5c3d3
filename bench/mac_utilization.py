"""MAC utilization of the array in Verilator simulation, default configuration.

Utilization = ideal cycles M*N*K / (L*V) over the cycles from the first accepted input
to the last output, with no external stalls. The square GEMM has M and N multiples of L;
the second shape (197 tokens, as in DeiT) shows the cost of padding partial tiles.
"""

import json
import tempfile
from pathlib import Path

from vsq_accel.sim.runner import run_cocotb
from vsq_accel.spec.config import AcceleratorConfig

SHAPES = {"": (64, 64, 512), "_m197": (197, 64, 512)}


def run():
    config = AcceleratorConfig()
    results = {"config": config.format_name, "lanes": config.lanes,
               "vector_size": config.vector_size, "simulator": "verilator"}
    for suffix, (m, n, k) in SHAPES.items():
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "figures.json"
            tests, failures = run_cocotb(
                config, "verilator", "vsq_mac_array", "vsq_accel.sim.mac_array_utilization",
                extra_env={"BENCH_M": str(m), "BENCH_N": str(n), "BENCH_K": str(k),
                           "BENCH_OUT": str(out)})
            if failures or not out.exists():
                raise RuntimeError(f"the utilization run M={m} N={n} K={k} failed")
            figures = json.loads(out.read_text())
        results.update({f"{key}{suffix}": value for key, value in figures.items()})
    return results
