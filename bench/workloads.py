"""The performance model on NVIDIA's configuration beside NVIDIA's figures.

16 lanes x 64-wide INT4-VSQ (8-bit scales, 1024 MACs per cycle); MAC utilization per
model from `perf.model`, batch 1, and for DeiT also batch 8, which fills the token
dimension's partial tiles. NVIDIA's published INT4-VSQ utilizations (Keller et al., JSSC
2023): BERT-Base 98 %, BERT-Large 98 %, DeiT-Small 94 %, DeiT-Base 97 %. `_fill_hidden`:
the same with every matmul's fill hidden behind the previous one. Also draws
the lanes x vector size sweep for DeiT-Small to results/sweep_deit_s.png.

Formats: on that configuration running INT4-VSQ and INT8 (`formats`), BERT-Base's
cycles with every matmul in INT8 over all in INT4-VSQ (`multi_format`), beside NVIDIA's
88 against 45 inferences a second (1.96).
"""

import dataclasses
from pathlib import Path

from vsq_accel.perf.__main__ import plot_sweep
from vsq_accel.perf.model import Assumptions, cost_workload
from vsq_accel.perf.workloads import WORKLOADS, with_batch
from vsq_accel.spec.config import AcceleratorConfig

SWEEP_PLOT = Path(__file__).resolve().parent / "results" / "sweep_deit_s.png"

NVIDIA = {"bert_base_128": 0.98, "bert_base_384": 0.98, "bert_large_128": 0.98,
          "bert_large_384": 0.98, "deit_s": 0.94, "deit_b": 0.97}
# BERT-Base inferences a second, 4V and INT8 (Keller et al., JSSC 2023).
NVIDIA_INFERENCES = {"int4_vsq": 88, "int8": 45}


def utilization(workload, config, assumptions=Assumptions()):
    costs = cost_workload(workload, config, assumptions)
    return sum(c.macs for c in costs) / (sum(c.cycles for c in costs) * config.macs_per_cycle)


def format_cycles(workload, config, format):
    """Cycles of the whole workload with every matmul in `format`."""
    return sum(cost.cycles for cost in cost_workload(workload, config, format=format))


def run():
    config = AcceleratorConfig(lanes=16, vector_size=64)
    results = {"lanes": config.lanes, "vector_size": config.vector_size}
    for name, published in NVIDIA.items():
        results[f"util_{name}"] = utilization(WORKLOADS[name], config)
        results[f"util_{name}_fill_hidden"] = utilization(
            WORKLOADS[name], config, Assumptions(overlap_matmuls=True))
        results[f"nvidia_util_{name}"] = published
    for name in ("deit_s", "deit_b"):
        results[f"util_{name}_batch8"] = utilization(with_batch(WORKLOADS[name], 8), config)
    formats = dataclasses.replace(config, formats=("int4_vsq", "int8"))
    for name in ("bert_base_128", "bert_base_384"):
        cycles = {format: format_cycles(WORKLOADS[name], formats, format)
                  for format in NVIDIA_INFERENCES}
        results[f"multi_format_int8_over_int4_vsq_cycles_{name}"] = (
            cycles["int8"] / cycles["int4_vsq"])
    results["nvidia_int4_vsq_over_int8_inferences"] = (
        NVIDIA_INFERENCES["int4_vsq"] / NVIDIA_INFERENCES["int8"])
    default = AcceleratorConfig()
    for name in WORKLOADS:
        results[f"default_config_util_{name}"] = utilization(WORKLOADS[name], default)
    plot_sweep(WORKLOADS["deit_s"], default, Assumptions(), SWEEP_PLOT)
    return results
