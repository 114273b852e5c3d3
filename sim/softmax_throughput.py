"""cocotb test behind `make bench`: a long stream of equal rows, nothing stalling.

Reads BENCH_ROW_LENGTH and BENCH_ROWS, writes its figures as JSON to BENCH_OUT. The
outputs are still checked against the golden model.
"""

import json
import os

import cocotb
import numpy as np

from vsq_accel.sim.softmax_harness import SoftmaxHarness
from vsq_accel.sim.streams import CLOCK_NS
from vsq_accel.sim.testbench import config_from_env

SEED = 20261126


@cocotb.test()
async def stream_of_rows(dut):
    config = config_from_env()
    length, count = int(os.environ["BENCH_ROW_LENGTH"]), int(os.environ["BENCH_ROWS"])
    harness = SoftmaxHarness(dut, config)
    await harness.reset()
    rng = np.random.default_rng(SEED)
    dut._log.info(f"seed {SEED}, {count} rows of {length}")
    rows = [(np.clip(np.round(rng.normal(0, 12, length)), config.softmax_logit_min,
                     config.softmax_logit_max).astype(np.int64),
             np.ones(length, bool)) for _ in range(count)]
    inputs, outputs = await harness.run_rows(rows)
    cycles = round((outputs[-1] - inputs[0]) / CLOCK_NS) + 1
    beats = len(inputs)
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump({"cycles": cycles, "beats": beats, "elements": length * count,
                   "latency_cycles": round((outputs[0] - inputs[0]) / CLOCK_NS)}, out)
