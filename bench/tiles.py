"""Array utilization over whole tiles in RTL: SA (one head), MHSA (6 heads) and the
FFN at DeiT-Small shapes (n = 197, d_model = 384, dk = 64, d_ff = 1536) on the default
configuration, the FFN also with a GELU: the PPU's (`ffn_gelu`, the default geometry
with ppu_gelu) and the host's (`ffn_host_gelu`: X W1 + b1 STOREd and the GELU's result
LOADed in blocks of rows, the host answering at once), and a long-row SA head
(`sa_long`: n = 1024, d_model = dk = 64) on the default configuration with
softmax_max_row = 256, so that every row runs in four blocks of keys; SA, MHSA and FFN
again with the PPU taking a column in 1 and 4 parts (`<tile>_ppu_share<S>`; the default's
takes it in 2); in Verilator
(`sim/tile_throughput.py`).

The host's LOADs and STOREs run beside the matmuls and softmax (the controller's two
slots). Weights stream through RIGHT in blocks of output columns and outputs through
OUTPUT in blocks of rows (the compiler's choice on the default buffers), so the FFN's
weights are loaded once per block of rows. The host sends a 64-bit beat per cycle on
the data stream whenever the engine takes one. Figures: utilization with the host's
transfers (`tile_util_<tile>`) and without them (`_loads_hidden`: the controller's
schedule, `perf.dispatch`, of the measured compute commands alone, as if the host's
transfers took no time), each beside the performance model's figure for the same
command list (`_model`, `_loads_hidden_model`: the same schedule of the model's matmul,
softmax and transfer cycles, drains included, which `tests/perf` holds equal to the
measured); the cycles of each part; simulation speed."""

import dataclasses
import json
import tempfile
from pathlib import Path

from vsq_accel.sim.runner import run_cocotb
from vsq_accel.spec.config import AcceleratorConfig

CONFIG = AcceleratorConfig()
# The PPU's parts (`ppu_share`) the SA, MHSA and FFN also run with, beside the default's.
PPU_SHARES = (1, 4)
# Each figure's prefix: the workload and the configuration it runs on.
WORKLOADS = {"sa": ("sa", CONFIG), "mhsa": ("mhsa", CONFIG), "ffn": ("ffn", CONFIG),
             "ffn_gelu": ("ffn_gelu", dataclasses.replace(CONFIG, ppu_gelu=True)),
             "ffn_host_gelu": ("ffn_host_gelu", CONFIG),
             "sa_long": ("sa_long", dataclasses.replace(CONFIG, softmax_max_row=256)),
             **{f"{tile}_ppu_share{share}": (tile, dataclasses.replace(CONFIG, ppu_share=share))
                for share in PPU_SHARES for tile in ("sa", "mhsa", "ffn")}}


def run():
    results = {"config": CONFIG.format_name, "lanes": CONFIG.lanes,
               "vector_size": CONFIG.vector_size, "simulator": "verilator",
               "host_bits_per_cycle": 64,
               "shapes": "n=197, d_model=384, dk=64, heads=6, d_ff=1536",
               "sa_long_shapes": "n=1024, d_model=64, dk=64, softmax_max_row=256"}
    for key in WORKLOADS:
        results.update(measure(key))
    return results


def measure(key):
    """The figures of one entry of `WORKLOADS`, named after its key."""
    name, config = WORKLOADS[key]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "figures.json"
        _, failures = run_cocotb(config, "verilator", "accelerator",
                                 "vsq_accel.sim.tile_throughput", testcase="tile_cycles",
                                 extra_env={"BENCH_OUT": str(out), "BENCH_TILE": name,
                                            "BENCH_KEY": key})
        if failures or not out.exists():
            raise RuntimeError(f"the {key} tile failed")
        return json.loads(out.read_text())
