"""cocotb tests of the emitted softmax unit; expected values come from the golden model.

Every random test draws from a fixed seed, logged at its start (SEED overrides the base).
"""

import cocotb
import numpy as np

from vsq_accel.golden.softmax import softmax_loop1, softmax_start
from vsq_accel.perf.model import softmax_cycles
from vsq_accel.sim.softmax_harness import SoftmaxHarness
from vsq_accel.sim.streams import CLOCK_NS, Idle
from vsq_accel.sim.testbench import start_test

BASE_SEED = 20261126


async def _setup(dut, test_seed):
    return await start_test(dut, SoftmaxHarness, test_seed, BASE_SEED)


def _random_row(config, rng, length, spread, keep_fraction=1.0):
    logits = np.clip(np.round(rng.normal(0, spread, length)), config.softmax_logit_min,
                     config.softmax_logit_max).astype(np.int64)
    return logits, rng.random(length) < keep_fraction


def _heavy_tail_row(config, rng, length):
    """Most logits near 0, a few far above (as a pretrained model's attention gives),
    over the whole logit range."""
    low, high = config.softmax_logit_min, config.softmax_logit_max
    logits = rng.normal(0, 16, length) + (rng.random(length) < 0.1) * rng.uniform(0, high, length)
    return np.clip(np.round(logits), low, high).astype(np.int64), np.ones(length, bool)


@cocotb.test()
async def row_lengths_with_stalls(dut):
    """Lengths 1, 2, P-1, P+1, 17, 64, 128, 197, 384 and 1023 back to back, random logits
    narrow and spread over the whole range, some with a heavy upper tail, with random
    idle cycles on both sides."""
    harness, rng, seed = await _setup(dut, 21)
    config = harness.config
    lanes = config.softmax_lanes
    lengths = [1, 2, max(lanes - 1, 1), lanes + 1, 17, 64, 128, 197, 384, 1023]
    wide = config.softmax_logit_max / 3
    rows = [_random_row(config, rng, n, spread)
            for n, spread in zip(lengths, [8, 40, 4, wide, 16] * 2)]
    rows += [_heavy_tail_row(config, rng, n) for n in (lanes + 3, 197)]
    for index, idle in enumerate([Idle(a=0.3, c=0.3), Idle(a=0.6), Idle(c=0.6)]):
        await harness.run_rows(rows, idle, seed=seed + index)


@cocotb.test()
async def special_rows(dut):
    """All equal, one dominant, all at the most negative logit, all at the largest, the
    two beside each other, masked elements, a row with nothing kept and a single kept
    element."""
    harness, rng, seed = await _setup(dut, 22)
    config = harness.config
    low, high = config.softmax_logit_min, config.softmax_logit_max
    n = 3 * config.softmax_lanes + 1
    dominant = np.full(n, -40)
    dominant[n // 2] = 100
    extremes = np.resize([low, high], n)
    keep_all = np.ones(n, bool)
    rows = [
        (np.full(n, 13), keep_all), (dominant, keep_all), (np.full(n, low), keep_all),
        (np.full(n, high), keep_all), (extremes, keep_all),
        _random_row(config, rng, n, 30, keep_fraction=0.5),
        (extremes, np.zeros(n, bool)),
        (extremes, np.arange(n) == n - 1),
        (np.array([high]), np.array([True])), (np.array([low]), np.array([True])),
    ]
    await harness.run_rows(rows, Idle(a=0.2, c=0.2), seed=seed)


@cocotb.test()
async def overlong_rows_are_flagged(dut):
    """A row one beat longer than the maximum and one of twice the maximum come out as
    zeros with `error`; the rows around them, one exactly the maximum, are unharmed."""
    harness, rng, seed = await _setup(dut, 23)
    config = harness.config
    longest = config.softmax_max_beats * config.softmax_lanes
    rows = [_random_row(config, rng, length, 10)
            for length in (5, longest + 1, longest, 2 * longest, 7)]
    await harness.run_rows(rows, Idle(a=0.1, c=0.1), seed=seed)


@cocotb.test()
async def sustains_p_logits_per_cycle(dut):
    """With nothing stalling, rows of 32 beats (or the longest row, if shorter) enter
    one beat every cycle, and the cycles to the last output are exactly the performance
    model's."""
    harness, rng, seed = await _setup(dut, 24)
    config = harness.config
    length = min(32, config.softmax_max_beats) * config.softmax_lanes
    rows = [_random_row(config, rng, length, 20) for _ in range(6)]
    inputs, outputs = await harness.run_rows(rows, seed=seed)
    gaps = np.diff(inputs) / CLOCK_NS
    assert np.all(gaps == 1), f"the unit stalled its input: gaps {sorted(set(gaps))}"
    cycles = round((outputs[-1] - inputs[0]) / CLOCK_NS) + 1
    predicted = softmax_cycles(len(rows), length, config)
    assert cycles == predicted, f"{cycles} cycles, the performance model predicts {predicted}"


@cocotb.test()
async def rising_maxima(dut):
    """Rows whose max rises from beat to beat, by one unit or by many (up to the whole
    range in one row), so that the sum is rescaled (and rounded) at nearly every beat."""
    harness, rng, seed = await _setup(dut, 25)
    config = harness.config
    low, high = config.softmax_logit_min, config.softmax_logit_max
    span = (high - low) / 256
    rows = []
    for length, step in [(64, 1), (97, 2), (128, 3), (200, 1), (256, 0.5), (60, 4),
                         (256, span)]:
        ramp = np.clip(np.round(low + step * np.arange(length)
                                + rng.integers(-3, 4, length)), low, high).astype(np.int64)
        rows.append((ramp, np.ones(length, bool)))
    await harness.run_rows(rows, Idle(a=0.1, c=0.1), seed=seed)


@cocotb.test()
async def exponential_mode_rows(dut):
    """The tile program's mode: each row's 2^(x - m) and r instead of probabilities, rows
    of both modes back to back (lengths 1 to beyond a beat, heavy tails, masks, nothing
    kept, an overlong row), random idle cycles on both sides."""
    harness, rng, seed = await _setup(dut, 26)
    config = harness.config
    lanes, longest = config.softmax_lanes, config.softmax_max_beats * config.softmax_lanes
    rows = []
    for index, length in enumerate([1, 2, lanes + 1, 3 * lanes, 17, 64, 197]):
        logits, keep = (_heavy_tail_row(config, rng, length) if index % 2 else
                        _random_row(config, rng, length, 40, keep_fraction=0.8))
        rows += [(logits, keep, True), (logits, keep, index % 3 == 0)]
    rows.append((np.zeros(5, np.int64), np.zeros(5, bool), True))
    rows.append((*_random_row(config, rng, longest + 1, 10), True))
    rows.append((*_random_row(config, rng, 7, 10), True))
    await harness.run_rows(rows, Idle(a=0.3, c=0.3), seed=seed)


@cocotb.test()
async def resumes_long_rows(dut):
    """Rows that continue from a state, as the SOFTMAX over a long row's next block of
    keys does: a long row cut into blocks, each resumed from the golden state after the
    one before; and single rows resumed from a max above all their logits (no rise),
    far below them (a rise past acc_bits), with a sum of 0 and a large one; both modes,
    random idle cycles on both sides. Each output beat carries the row's max, sum and
    rise, compared with the golden model's."""
    harness, rng, seed = await _setup(dut, 27)
    config = harness.config
    lanes, frac = config.softmax_lanes, config.softmax_frac_bits
    block = config.softmax_max_beats * lanes
    low_unit = -((-config.softmax_logit_min) >> frac)
    high_unit = -((-config.softmax_logit_max) >> frac)
    large_sum = (config.softmax_max_keys - block) << config.softmax_exp_bits
    rows = []
    logits, keep = _heavy_tail_row(config, rng, 3 * block + lanes + 1)
    row_max, row_sum = softmax_start(1, config)
    for first in range(0, len(logits), block):
        part = slice(first, first + block)
        start = None if first == 0 else (int(row_max[0]), int(row_sum[0]))
        rows.append((logits[part], keep[part], bool(first % 2), start))
        row_max, row_sum = softmax_loop1(logits[None, part], keep[None, part], row_max,
                                         row_sum, config)
    for length, start in [(1, (high_unit, 1 << config.softmax_exp_bits)),
                          (lanes + 3, (low_unit, 0)),
                          (2 * lanes, (int(rng.integers(low_unit, high_unit + 1)), large_sum)),
                          (5, (low_unit, large_sum))]:
        logits, keep = _random_row(config, rng, length, 20, keep_fraction=0.9)
        rows += [(logits, keep, False, start), (logits, keep, True, start)]
    await harness.run_rows(rows, Idle(a=0.3, c=0.3), seed=seed)
