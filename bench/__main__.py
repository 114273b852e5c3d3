"""`make bench`: run the benchmarks (all but the synthesis study, which `make synth`
runs: about an hour, and the DeiT-S sweep), write bench/results/<name>.json, print a
table. Named benchmarks run alone: `python -m vsq_accel.bench tiles`."""

import json
import sys
from pathlib import Path

from vsq_accel.bench import (ara, energy, gelu_accuracy, golden_speed, logit_width,
                             mac_utilization, matmul_accuracy, one_pass, ppu_throughput, seed_sa,
                             softmax_accuracy, softmax_throughput, sweep, synth, tile_accuracy,
                             tiles, workloads)

BENCHMARKS = {
    "mac_utilization": mac_utilization.run,
    "matmul_accuracy": matmul_accuracy.run,
    "logit_width": logit_width.run,
    "ppu": ppu_throughput.run,
    "softmax": lambda: {**softmax_throughput.run(), **softmax_accuracy.run()},
    "tile_accuracy": tile_accuracy.run,
    "gelu_accuracy": gelu_accuracy.run,
    "one_pass": one_pass.run,
    "tiles": tiles.run,
    "workloads": workloads.run,
    "energy": energy.run,
    "golden_speed": golden_speed.run,
    "seed_sa": seed_sa.run,
    "ara": ara.run,
    "synth": synth.run,
    "synth_ppu": synth.run_post_processing,
    "synth_gelu": synth.run_gelu,
    "synth_ppu_share": synth.run_ppu_share,
    "synth_accelerator": synth.run_accelerator,
    "sweep": sweep.run,
}
# The synthesis study: `make synth` (or `python -m vsq_accel.bench synth synth_ppu
# synth_gelu synth_ppu_share synth_accelerator`) runs it.
SYNTHESIS = ("synth", "synth_ppu", "synth_gelu", "synth_ppu_share", "synth_accelerator")
# The DeiT-S sweep synthesizes too, and times itself on one and on two workers: `python
# -m vsq_accel.bench sweep` runs it alone.
ALONE = SYNTHESIS + ("sweep",)
RESULTS = Path(__file__).resolve().parent / "results"


def main(names):
    RESULTS.mkdir(exist_ok=True)
    for name in names or [name for name in BENCHMARKS if name not in ALONE]:
        if name not in BENCHMARKS:
            print(f"error: unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}",
                  file=sys.stderr)
            return 2
        figures = BENCHMARKS[name]()
        (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\n{name} -> bench/results/{name}.json")
        width = max(map(len, figures))
        for key, value in figures.items():
            if isinstance(value, dict):
                continue                     # what the figures came from, not a figure
            shown = f"{value:.4f}" if isinstance(value, float) else value
            print(f"  {key:<{width}}  {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
