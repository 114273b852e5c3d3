"""cocotb tests of the emitted PPU scaling stage; expected values come from the golden
device PPU. Every random test draws from a fixed seed, logged at its start (SEED
overrides the base)."""

import cocotb
import numpy as np

from vsq_accel.sim.ppu_harness import PpuColumn, PpuScaleHarness, random_columns
from vsq_accel.sim.streams import CLOCK_NS, Idle
from vsq_accel.sim.testbench import start_test
from vsq_accel.spec.timing import ppu_latency

BASE_SEED = 20261201


async def _setup(dut, test_seed):
    return await start_test(dut, PpuScaleHarness, test_seed, BASE_SEED)


@cocotb.test()
async def random_columns_with_stalls(dut):
    """Random accumulators and parameters over their whole ranges, per column and per
    lane (a result produced transposed), every mode, random idle cycles on both sides."""
    harness, rng, seed = await _setup(dut, 31)
    for index, idle in enumerate([Idle(a=0.3, c=0.3), Idle(a=0.6), Idle(c=0.6), Idle()]):
        columns = random_columns(rng, 60, harness.config, per_lane=index % 2 == 0)
        await harness.run(columns, idle, seed=seed + index)


@cocotb.test()
async def ties_saturation_and_extremes(dut):
    """Rounding ties of both signs, shifts 0 and 62, saturation high and low in both
    output widths, ReLU of negatives, and the widest product: the most negative
    accumulator times the largest reciprocal and multiplier."""
    harness, rng, seed = await _setup(dut, 32)
    config = harness.config
    lanes = config.lanes
    ones = np.ones(lanes, np.int64)
    zeros = np.zeros(lanes, np.int64)
    odd = 2 * (np.arange(lanes) - lanes // 2) + 1            # odd numbers of both signs
    columns = []
    for shift in (1, 3, 7):
        # acc * mult = odd * 2^(shift-1): exactly half a unit away from two results.
        columns.append(PpuColumn(odd << (shift - 1), ones, ones * shift, zeros, ones))
        columns.append(PpuColumn(odd, ones << (shift - 1), ones * shift, zeros, ones))
        columns.append(PpuColumn(odd, ones, ones * (shift - 1), zeros, ones << (shift - 1),
                                 logits=True))
    top_mult = ones * ((1 << config.ppu_mult_bits) - 1)
    top_r = ones * ((1 << config.softmax_recip_bits) - 1)
    extremes = np.resize([config.acc_min, config.acc_max, -1, 0, 1], lanes)
    for logits in (False, True):
        for relu in (False, True):
            columns.append(PpuColumn(extremes, top_mult, zeros, zeros, ones, relu, logits))
            columns.append(PpuColumn(extremes, top_mult, ones * 62, zeros, top_r, relu, logits))
            columns.append(PpuColumn(extremes, top_mult, ones * 20, zeros, top_r, relu, logits))
    limit = 1 << (config.ppu_bits - 1)
    columns.append(PpuColumn(zeros, zeros, zeros, np.resize([-limit, limit - 1], lanes), ones))
    columns.append(PpuColumn(zeros, zeros, zeros, np.resize([-limit, limit - 1], lanes), ones,
                             relu=True, logits=True))
    await harness.run(columns, Idle(a=0.2, c=0.2), seed=seed)


@cocotb.test()
async def takes_a_column_every_share_cycles(dut):
    """With nothing stalling, a column comes out every S cycles (`ppu_parts`; every cycle on
    an unshared PPU, which takes one every cycle too), the first the stage's latency
    after it came."""
    harness, rng, seed = await _setup(dut, 33)
    count, share = 200, harness.config.ppu_parts
    inputs, outputs = await harness.run(random_columns(rng, count, harness.config), seed=seed)
    assert np.all(np.diff(outputs) == share * CLOCK_NS), \
        f"the stage did not give a column every {share} cycles"
    assert share > 1 or np.all(np.diff(inputs) == CLOCK_NS), \
        "the stage did not take a column every cycle"
    cycles = round((outputs[-1] - inputs[0]) / CLOCK_NS)
    expected = (count - 1) * share + ppu_latency(harness.config)
    assert cycles == expected, f"{cycles} cycles for {count} columns, not {expected}"


@cocotb.test()
async def gelu_over_the_whole_range(dut):
    """y over its whole range (the most negative included), unscaled, through the GELU at
    shifts that put the table's range anywhere in it, 0 and 62 too: rounding ties of x
    (y * 2^Q exactly half a step), of the interpolation and of the output, and y past
    both ends of the table. On a PPU without a GELU the same columns pass y unchanged."""
    harness, rng, seed = await _setup(dut, 34)
    config = harness.config
    lanes = config.lanes
    ones, zeros = np.ones(lanes, np.int64), np.zeros(lanes, np.int64)
    limit = 1 << (config.ppu_bits - 1)
    # y = acc exactly: multiplier 1, no shift, no bias, reciprocal 1
    special = [-limit, limit - 1, -1, 0, 1, -limit + 1]
    values = np.concatenate([special, rng.integers(-limit, limit, 40 * lanes)])
    shifts = [0, 62, *range(max(0, config.ppu_bits - 8), config.ppu_bits + 3)]
    columns = []
    for shift in shifts:
        # ties of x: y * 2^Q / 2^shift an odd number of halves (shift > Q)
        tie = (2 * (np.arange(lanes) - lanes // 2) + 1) << max(shift - 9, 0)
        for chunk in [tie, *np.array_split(values, len(values) // lanes)]:
            acc = np.resize(np.clip(chunk, -limit, limit - 1), lanes)
            columns.append(PpuColumn(acc, ones, zeros, zeros, ones,
                                     gelu=config.ppu_gelu, gelu_shift=shift))
    await harness.run(columns, Idle(a=0.2, c=0.2), seed=seed)
