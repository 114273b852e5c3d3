"""cocotb tests of the emitted row requantizer; expected values come from the golden
`requantize_rows`. Every random test draws from a fixed seed, logged at its start (SEED
overrides the base)."""

import cocotb
import numpy as np

from vsq_accel.golden.ppu import Requantization
from vsq_accel.golden.ppu_params import exponential_requantization
from vsq_accel.sim.row_requantizer_harness import Row, RowRequantizerHarness, exponential_rows
from vsq_accel.sim.streams import CLOCK_NS, Idle
from vsq_accel.sim.testbench import start_test
from vsq_accel.spec.precision import format_config

BASE_SEED = 20261202


async def _setup(dut, test_seed):
    return await start_test(dut, RowRequantizerHarness, test_seed, BASE_SEED)


def _lengths(config):
    """Rows of one value, around a beat and a vector, 197 keys and the longest row."""
    width, size, longest = config.softmax_lanes, config.vector_size, config.softmax_max_row
    lengths = [1, width, width + 1, size - 1, size, size + 1, 2 * size + 3, 197, longest]
    return [length for length in lengths if 1 <= length <= longest]


@cocotb.test()
async def exponential_rows_with_stalls(dut):
    """The tile program's rows: exponentials with the fixed coarse scale, zero rows,
    rows of equal values, an erroneous row; random idle cycles on both sides; in each
    format the array runs, in turn."""
    harness, rng, seed = await _setup(dut, 51)
    config = harness.config
    rows = exponential_rows(rng, _lengths(config), config)
    for format in config.supported_formats:
        params, _ = exponential_requantization(format_config(config, format))
        for index, idle in enumerate([Idle(), Idle(a=0.3, c=0.3), Idle(a=0.6), Idle(c=0.6)]):
            await harness.run(rows, params, idle, seed=seed + index, format=format)


@cocotb.test()
async def scale_boundaries_ties_and_clipping(dut):
    """A vector max whose scale lands exactly on an integer and one unit above it, a
    zero vector (scale clamped to 1), elements that clip at 2^(N-1) - 1, and rounding
    ties of the elements; in each format the array runs."""
    harness, rng, seed = await _setup(dut, 52)
    for format in harness.config.supported_formats:
        await _boundaries_ties_and_clipping(harness, rng, seed, format)


async def _boundaries_ties_and_clipping(harness, rng, seed, format):
    config = harness.config
    size = config.vector_size
    # scale = ceil(amax * 3 / 2^4): amax = 16 k gives exactly 3 k, 16 k + 1 rounds up.
    boundaries = Requantization(element_mult=1 << 10, element_shift=10, scale_mult=3,
                                scale_shift=4)
    rows = [Row(np.resize([16 * k, 5, 7, 0], size)) for k in range(1, 5)]
    rows += [Row(np.resize([16 * k + 1, 3, 1, 0], size + 3)) for k in range(1, 5)]
    rows.append(Row(np.zeros(size + 1, np.int64)))
    await harness.run(rows, boundaries, Idle(a=0.2, c=0.2), seed=seed, format=format)
    clipping = Requantization(element_mult=(1 << config.ppu_mult_bits) - 1, element_shift=0,
                              scale_mult=1, scale_shift=12)
    await harness.run(exponential_rows(rng, _lengths(config), config), clipping, Idle(c=0.3),
                      seed=seed + 1, format=format)
    ties = Requantization(element_mult=1, element_shift=1, scale_mult=1, scale_shift=0)
    await harness.run([Row(2 * np.arange(length) + 1) for length in _lengths(config)], ties,
                      seed=seed + 2, format=format)


@cocotb.test()
async def takes_a_beat_every_cycle(dut):
    """With nothing stalling, a beat every cycle; where neither of P and V divides the
    other, a row's last beat may cost one cycle more."""
    harness, rng, seed = await _setup(dut, 53)
    config = harness.config
    width, size = config.softmax_lanes, config.vector_size
    lengths = [length for length in (197, 3 * size + 1, width) if length <= config.softmax_max_row]
    rows = exponential_rows(rng, lengths * 4, config)
    inputs, _ = await harness.run(rows, exponential_requantization(config)[0], seed=seed)
    gaps = np.diff(inputs) / CLOCK_NS
    extra = int(np.sum(gaps - 1))
    allowed = 0 if width % size == 0 or size % width == 0 else len(rows)
    assert np.all(gaps >= 1) and extra <= allowed, (
        f"the row requantizer stalled its input {extra} cycles (allowed {allowed})")
