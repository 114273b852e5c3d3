"""Energy per inference on NVIDIA's configuration beside NVIDIA's figures (`perf.energy`).

16 lanes x 64-wide, running INT4-VSQ and INT8 by command (`formats`), at 5 nm and
0.67 V (the chip's BERT-Base operating point), 500 MHz: BERT-Base (128 tokens) and
DeiT-Small, every matmul in INT4-VSQ or in INT8, the host's data from DRAM and, beside
it, from an on-chip memory. NVIDIA's measured figures (Keller et al., JSSC 2023): 38.7
TOPS/W and 1734 inferences/s/W on BERT-Base in INT4-VSQ; INT4-VSQ against INT8, 1734
against 745 inferences/s/W on BERT-Base and 3.5k against 1.5k on DeiT-Small. Draws the
split by component to results/energy.png.
"""

from pathlib import Path

from vsq_accel.perf.energy import EnergyTable
from vsq_accel.perf.energy_report import energy_point, plot_energy
from vsq_accel.perf.model import Assumptions
from vsq_accel.perf.workloads import WORKLOADS
from vsq_accel.spec.config import AcceleratorConfig

PLOT = Path(__file__).resolve().parent / "results" / "energy.png"
NODE_NM, VDD = 5, 0.67
# Inferences/s/W, INT4-VSQ and INT8.
NVIDIA = {"bert_base_128": {"int4_vsq": 1734, "int8": 745},
          "deit_s": {"int4_vsq": 3500, "int8": 1500}}


def run():
    config = AcceleratorConfig(lanes=16, vector_size=64, formats=("int4_vsq", "int8"))
    table, assumptions = EnergyTable.load(), Assumptions()
    results = {"node_nm": NODE_NM, "vdd": VDD, "clock_mhz": assumptions.clock_mhz}
    drawn = []
    for host, suffix in (("dram", ""), ("on-chip", "_on_chip_host")):
        for name, published in NVIDIA.items():
            points = {format: energy_point(WORKLOADS[name], config, format, table, NODE_NM,
                                           VDD, assumptions, host) for format in published}
            for format, point in points.items():
                key = f"{name}_{format}{suffix}"
                results[f"energy_uj_{key}"] = point.picojoules / 1e6
                results[f"tops_per_w_{key}"] = point.tops_per_w()
                results[f"inferences_per_s_per_w_{key}"] = point.inferences_per_s_per_w()
                for component, picojoules in point.split.items():
                    share = picojoules / point.picojoules
                    results[f"share_{component.replace(' ', '_').lower()}_{key}"] = share
            results[f"energy_ratio_int8_vs_int4_vsq_{name}{suffix}"] = (
                points["int8"].picojoules / points["int4_vsq"].picojoules)
            if host == "dram":
                drawn += points.values()
    for name, published in NVIDIA.items():
        results[f"nvidia_inferences_per_s_per_w_{name}_int4_vsq"] = published["int4_vsq"]
        results[f"nvidia_energy_ratio_int8_vs_int4_vsq_{name}"] = (
            published["int4_vsq"] / published["int8"])
    results["nvidia_tops_per_w_bert_base_128_int4_vsq"] = 38.7
    plot_energy(drawn, PLOT, f"energy per inference, {NODE_NM} nm, {VDD} V, host data "
                f"from DRAM")
    return results
