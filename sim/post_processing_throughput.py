"""cocotb tests behind `make bench`: long streams through the PPU's scaling stage (in
each mode), the requantizer and the row requantizer with nothing stalling, columns (or
beats) counted per cycle.

Writes its figures as JSON to BENCH_OUT. Every output is still checked against the
golden model: a fast wrong answer measures nothing.
"""

import dataclasses
import json
import os

import cocotb
import numpy as np

from vsq_accel.golden.ppu_params import exponential_requantization, requantization
from vsq_accel.sim.ppu_harness import PpuScaleHarness, random_columns
from vsq_accel.sim.requantizer_harness import RequantizerHarness
from vsq_accel.sim.row_requantizer_harness import RowRequantizerHarness, exponential_rows
from vsq_accel.sim.streams import CLOCK_NS
from vsq_accel.sim.testbench import config_from_env

SEED = 20261201
COLUMNS = 2000
# The PPU's modes: plain y, ReLU, logits, rows scaled by the softmax reciprocal.
MODES = {"y": {"relu": False, "logits": False}, "relu": {"relu": True, "logits": False},
         "logits": {"relu": False, "logits": True}, "row_scaled": {"relu": False,
                                                                   "logits": False}}


def _rate(inputs, outputs, count):
    """Columns per cycle from the first column in to the last column out."""
    return count / (round((outputs[-1] - inputs[0]) / CLOCK_NS) + 1)


def _write(figures):
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump(figures, out)


@cocotb.test()
async def ppu_scale_stream(dut):
    config = config_from_env()
    harness = PpuScaleHarness(dut, config)
    await harness.reset()
    rng = np.random.default_rng(SEED)
    dut._log.info(f"seed {SEED}, {COLUMNS} columns per mode")
    figures = {}
    for mode, flags in MODES.items():
        columns = [dataclasses.replace(column, **flags, reciprocal=(
            column.reciprocal if mode == "row_scaled" else np.ones(config.lanes, np.int64)))
            for column in random_columns(rng, COLUMNS, config)]
        inputs, outputs = await harness.run(columns, seed=SEED)
        figures[f"columns_per_cycle_ppu_{mode}"] = _rate(inputs, outputs, COLUMNS)
    _write(figures)


@cocotb.test()
async def requantizer_stream(dut):
    config = config_from_env()
    harness = RequantizerHarness(dut, config)
    await harness.reset()
    rng = np.random.default_rng(SEED)
    rows, columns = 4 * config.lanes, COLUMNS
    dut._log.info(f"seed {SEED}, {rows} x {columns}")
    y = rng.integers(-(1 << (config.ppu_input_bits - 1)), 1 << (config.ppu_input_bits - 1),
                     (rows, columns))
    params = requantization(1e-3, 32.768 / config.operand_levels, config)
    inputs, outputs = await harness.run(y, params, seed=SEED)
    count = -(-rows // config.lanes) * -(-columns // config.lanes) * config.lanes
    _write({"columns_per_cycle_requantizer": _rate(inputs, outputs, count),
            "requantizer_columns": count})


@cocotb.test()
async def row_requantizer_stream(dut):
    """Rows of 197 exponentials, as the softmax gives them to P V."""
    config = config_from_env()
    harness = RowRequantizerHarness(dut, config)
    await harness.reset()
    rng = np.random.default_rng(SEED)
    rows = exponential_rows(rng, [197] * 300, config)
    dut._log.info(f"seed {SEED}, {len(rows)} rows of 197")
    inputs, outputs = await harness.run(rows, exponential_requantization(config)[0], seed=SEED)
    beats = len(rows) * -(-197 // config.softmax_lanes)
    _write({"beats_per_cycle_row_requantizer": _rate(inputs, outputs, beats)})
