"""cocotb tests of the emitted requantizer; expected values come from the golden
`requantize_rows`. Every random test draws from a fixed seed, logged at its start (SEED
overrides the base)."""

import re

import cocotb
import numpy as np
from cocotb.utils import get_sim_time

from vsq_accel.golden.ppu import Requantization
from vsq_accel.golden.ppu_params import requantization
from vsq_accel.sim.requantizer_harness import RequantizerHarness
from vsq_accel.sim.streams import CLOCK_NS, Idle
from vsq_accel.sim.testbench import start_test

BASE_SEED = 20261201


async def _setup(dut, test_seed):
    return await start_test(dut, RequantizerHarness, test_seed, BASE_SEED)


def _random_y(rng, rows, columns, config):
    """y over the whole input range in some rows, of a few hundred units in others, a
    zero row and the most negative value."""
    bits = config.ppu_input_bits
    y = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), (rows, columns))
    y[1::3] //= rng.integers(1, 300, (len(y[1::3]), 1))
    y[rows // 2] = 0
    y[0, 0] = -(1 << (bits - 1))
    return y


def _params(rng, config):
    """The host's parameters for a random y unit and coarse scale."""
    unit = 10.0 ** rng.uniform(-4, -1)
    gamma = (unit * (1 << (config.ppu_input_bits - 1)) / config.operand_levels
             * 10.0 ** rng.uniform(-1, 0.5))
    return requantization(unit, gamma, config)


@cocotb.test()
async def random_matrices_with_stalls(dut):
    """Rows of many tile rows, row lengths below, at and beyond a vector and not whole
    vectors or whole tiles, random idle cycles on both sides."""
    harness, rng, seed = await _setup(dut, 41)
    config = harness.config
    size, lanes = config.vector_size, config.lanes
    shapes = [(lanes, size), (2 * lanes + 1, 3 * size + 5), (3, 1), (lanes + 2, size - 1),
              (5, 2 * lanes + 3), (1, size + 1)]
    idles = [Idle(a=0.3, c=0.3), Idle(a=0.6), Idle(c=0.6)]
    for index, (rows, columns) in enumerate(shapes):
        await harness.run(_random_y(rng, rows, columns, config), _params(rng, config),
                          idles[index % 3], seed=seed + index)


@cocotb.test()
async def scale_boundaries_ties_and_clipping(dut):
    """A vector max whose scale lands exactly on an integer and one unit above it, zero
    vectors (scale clamped to 1), elements that clip at +-(2^(N-1) - 1), and rounding
    ties of the elements."""
    harness, rng, seed = await _setup(dut, 42)
    config = harness.config
    size, lanes = config.vector_size, config.lanes
    rows = max(lanes, 4)
    # scale = ceil(amax * 3 / 2^4): amax = 16 k gives exactly 3 k, 16 k + 1 rounds up.
    params = Requantization(element_mult=1 << 10, element_shift=10, scale_mult=3, scale_shift=4)
    y = np.zeros((rows, 2 * size), np.int64)
    for row in range(rows):
        y[row, :size] = np.resize([16 * (row + 1), -5, 7, 0], size)
        y[row, size:] = np.resize([16 * (row + 1) + 1, -(16 * (row + 1) + 1), 3, 1], size)
    y[rows - 1] = 0
    await harness.run(y, params, Idle(a=0.2, c=0.2), seed=seed)
    clipping = Requantization(element_mult=(1 << config.ppu_mult_bits) - 1, element_shift=0,
                              scale_mult=1, scale_shift=12)
    await harness.run(_random_y(rng, rows, size + 3, config), clipping, Idle(c=0.3),
                      seed=seed + 1)
    ties = Requantization(element_mult=1, element_shift=1, scale_mult=1, scale_shift=0)
    odd = np.resize(2 * np.arange(-size, size) + 1, (rows, 2 * size))
    await harness.run(odd, ties, seed=seed + 2)


@cocotb.test()
async def takes_a_column_every_cycle(dut):
    """With nothing stalling, whole vectors: a column is taken every cycle."""
    harness, rng, seed = await _setup(dut, 43)
    config = harness.config
    y = _random_y(rng, 2 * config.lanes, 4 * max(config.vector_size, config.lanes), config)
    inputs, _ = await harness.run(y, _params(rng, config), seed=seed)
    gaps = np.diff(inputs) / CLOCK_NS
    assert np.all(gaps == 1), f"the requantizer stalled its input: gaps {sorted(set(gaps))}"


@cocotb.test()
async def a_stuck_output_fails_within_its_budget(dut):
    """An output that never takes anything (a sink always idle) stops the run within
    the budget that `stream_through` derives from the transfers, with a message that
    names the cycle, the stream end that waits and the last payload each end moved."""
    harness, rng, seed = await _setup(dut, 44)
    config = harness.config
    # more vectors than the banks and the output queue hold: the input stalls too
    y = _random_y(rng, config.lanes, 32 * config.vector_size, config)
    start = get_sim_time("ns")
    try:
        await harness.run(y, _params(rng, config), Idle(c=1.0), seed=seed)
    except AssertionError as error:
        message = str(error)
    else:
        raise AssertionError("a run whose output never drains finished")
    dut._log.info(message)
    budget = re.search(r"within its budget of (\d+) cycles", message)
    assert message.startswith("stuck at cycle ") and budget, message
    assert get_sim_time("ns") - start <= (int(budget.group(1)) + 10) * CLOCK_NS
    assert "StreamSink o: waits for payload 0 since cycle" in message
    assert "StreamSource i: offers payload" in message and "the last payload 0x" in message
