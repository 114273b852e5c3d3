"""cocotb tests of the emitted corner turn: its output is its input turned, checked beat
by beat. Every random test draws from a fixed seed, logged at its start (SEED overrides
the base)."""

import cocotb
import numpy as np

from vsq_accel.sim.corner_turn_harness import CornerTurnHarness
from vsq_accel.sim.streams import CLOCK_NS, Idle
from vsq_accel.sim.testbench import start_test

BASE_SEED = 20261201


async def _setup(dut, test_seed):
    return await start_test(dut, CornerTurnHarness, test_seed, BASE_SEED)


def _block(rng, rows, keys, config):
    return rng.integers(config.softmax_logit_min, config.softmax_logit_max + 1, (rows, keys))


@cocotb.test()
async def blocks_of_every_shape_with_stalls(dut):
    """Blocks of 1 to L rows and of 1, P - 1, P, P + 1, 197 (where it fits) and the
    longest keys, both softmax modes, back to back with random idle cycles."""
    harness, rng, seed = await _setup(dut, 51)
    config = harness.config
    lanes, width = config.lanes, config.softmax_lanes
    longest = config.softmax_max_beats * width
    keys = sorted({1, max(width - 1, 1), width, width + 1, min(197, longest), longest})
    blocks = [(_block(rng, rows, length, config), index % 2 == 0)
              for index, (rows, length) in enumerate(
                  (1 + (index * 3) % lanes, length) for index, length in enumerate(keys))]
    blocks.append((_block(rng, lanes, 2 * width + 3, config), True))
    for index, idle in enumerate([Idle(a=0.3, c=0.3), Idle(a=0.6), Idle(c=0.6)]):
        await harness.run(blocks, idle, seed=seed + index)


@cocotb.test()
async def keeps_pace_with_the_array(dut):
    """With nothing stalling, the slower side runs every cycle: with P >= L the turn
    takes a column every cycle (the array never waits), with P <= L a beat leaves every
    cycle once the first block is in (the softmax never waits)."""
    harness, rng, seed = await _setup(dut, 52)
    config = harness.config
    blocks = [(_block(rng, config.lanes, 4 * config.softmax_lanes, config), True)
              for _ in range(4)]
    inputs, outputs = await harness.run(blocks, seed=seed)
    if config.softmax_lanes >= config.lanes:
        gaps = np.diff(inputs) / CLOCK_NS
        assert np.all(gaps == 1), f"the corner turn stalled its input: {sorted(set(gaps))}"
    if config.softmax_lanes <= config.lanes:
        gaps = np.diff(outputs) / CLOCK_NS
        assert np.all(gaps[len(gaps) // 2:] == 1), "beats did not leave every cycle"
