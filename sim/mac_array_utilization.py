"""cocotb test behind `make bench`: one GEMM with nothing stalling, cycles counted.

Reads BENCH_M, BENCH_N, BENCH_K and writes its figures as JSON to BENCH_OUT. The output
is still checked against the golden model: a fast wrong answer measures nothing.
"""

import json
import os

import cocotb
import numpy as np

from vsq_accel.sim.mac_array_harness import MacArrayHarness, random_operands
from vsq_accel.sim.testbench import config_from_env

SEED = 20261126


@cocotb.test()
async def gemm_utilization(dut):
    config = config_from_env()
    m, n, k = (int(os.environ[f"BENCH_{name}"]) for name in "MNK")
    harness = MacArrayHarness(dut, config)
    await harness.reset()
    rng = np.random.default_rng(SEED)
    dut._log.info(f"seed {SEED}, M={m} N={n} K={k}")
    run = await harness.run_gemm(random_operands(rng, m, k, config),
                                 random_operands(rng, n, k, config))
    ideal = m * n * k / config.macs_per_cycle
    figures = {"m": m, "n": n, "k": k, "cycles": run.cycles, "ideal_cycles": ideal,
               "mac_utilization": ideal / run.cycles}
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump(figures, out)
