"""cocotb tests of the emitted softmax unit; expected values come from the golden model.

Every random test draws from a fixed seed, logged at its start (SEED overrides the base).
"""

import os

import cocotb
import numpy as np

from perf.model import softmax_cycles
from sim.mac_array_harness import config_from_env
from sim.softmax_harness import SoftmaxHarness
from sim.streams import CLOCK_NS, Idle

BASE_SEED = int(os.environ.get("SEED", "20261126"))


async def _setup(dut, test_seed):
    harness = SoftmaxHarness(dut, config_from_env())
    await harness.reset()
    seed = BASE_SEED + test_seed
    dut._log.info(f"seed {seed} (SEED={BASE_SEED})")
    return harness, np.random.default_rng(seed), seed


def _random_row(rng, length, spread, keep_fraction=1.0):
    logits = np.clip(np.round(rng.normal(0, spread, length)), -128, 127).astype(np.int64)
    return logits, rng.random(length) < keep_fraction


@cocotb.test()
async def row_lengths_with_stalls(dut):
    """Lengths 1, 2, P-1, P+1, 17, 64, 128, 197, 384 and 1023 back to back, random logits,
    with random idle cycles on both sides."""
    harness, rng, seed = await _setup(dut, 21)
    lanes = harness.config.softmax_lanes
    lengths = [1, 2, max(lanes - 1, 1), lanes + 1, 17, 64, 128, 197, 384, 1023]
    rows = [_random_row(rng, n, spread) for n, spread in zip(lengths, [8, 40, 4, 16] * 3)]
    for index, idle in enumerate([Idle(a=0.3, c=0.3), Idle(a=0.6), Idle(c=0.6)]):
        await harness.run_rows(rows, idle, seed=seed + index)


@cocotb.test()
async def special_rows(dut):
    """All equal, one dominant, all -128, all 127, -128 beside 127, masked elements,
    a row with nothing kept and a single kept element."""
    harness, rng, seed = await _setup(dut, 22)
    n = 3 * harness.config.softmax_lanes + 1
    dominant = np.full(n, -40)
    dominant[n // 2] = 100
    extremes = np.resize([-128, 127], n)
    keep_all = np.ones(n, bool)
    rows = [
        (np.full(n, 13), keep_all), (dominant, keep_all), (np.full(n, -128), keep_all),
        (np.full(n, 127), keep_all), (extremes, keep_all),
        _random_row(rng, n, 30, keep_fraction=0.5),
        (extremes, np.zeros(n, bool)),
        (extremes, np.arange(n) == n - 1),
        (np.array([127]), np.array([True])), (np.array([-128]), np.array([True])),
    ]
    await harness.run_rows(rows, Idle(a=0.2, c=0.2), seed=seed)


@cocotb.test()
async def overlong_rows_are_flagged(dut):
    """A row one beat longer than the maximum and one of twice the maximum come out as
    zeros with `error`; the rows around them, one exactly the maximum, are unharmed."""
    harness, rng, seed = await _setup(dut, 23)
    config = harness.config
    longest = config.softmax_max_beats * config.softmax_lanes
    rows = [_random_row(rng, 5, 10), _random_row(rng, longest + 1, 10),
            _random_row(rng, longest, 10), _random_row(rng, 2 * longest, 10),
            _random_row(rng, 7, 10)]
    await harness.run_rows(rows, Idle(a=0.1, c=0.1), seed=seed)


@cocotb.test()
async def sustains_p_logits_per_cycle(dut):
    """With nothing stalling, rows of 32 beats enter one beat every cycle, and the cycles
    to the last output are exactly the performance model's."""
    harness, rng, seed = await _setup(dut, 24)
    lanes = harness.config.softmax_lanes
    rows = [_random_row(rng, 32 * lanes, 20) for _ in range(6)]
    inputs, outputs = await harness.run_rows(rows, seed=seed)
    gaps = np.diff(inputs) / CLOCK_NS
    assert np.all(gaps == 1), f"the unit stalled its input: gaps {sorted(set(gaps))}"
    cycles = round((outputs[-1] - inputs[0]) / CLOCK_NS) + 1
    predicted = softmax_cycles(len(rows), 32 * lanes, harness.config)
    assert cycles == predicted, f"{cycles} cycles, the performance model predicts {predicted}"


@cocotb.test()
async def rising_maxima(dut):
    """Rows whose max rises from beat to beat, by one unit or by many, so that the sum
    is rescaled (and rounded) at nearly every beat."""
    harness, rng, seed = await _setup(dut, 25)
    rows = []
    for length, step in [(64, 1), (97, 2), (128, 3), (200, 1), (256, 0.5), (60, 4)]:
        ramp = np.clip(np.round(-128 + step * np.arange(length)
                                + rng.integers(-3, 4, length)), -128, 127).astype(np.int64)
        rows.append((ramp, np.ones(length, bool)))
    await harness.run_rows(rows, Idle(a=0.1, c=0.1), seed=seed)
