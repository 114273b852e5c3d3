"""Random valid configurations through the RTL, so that the suite is not held only to the
configurations someone picked.

The configurations are drawn from a bounded space (`spec.random_configs`) with a seed
printed in every test's name: CONFIG_SEED (default 2026) and RANDOM_CONFIGS (default 1)
in the environment choose them, and CONFIG_SEED=<seed> reproduces a draw. `make test`
runs the tile engine's cocotb tests (every unit of the datapath, every tile, but the
long-row ones) on the draw (`sim.regression.cases`); `make test-random N=50` draws 50
configurations from a wider space with a new seed and runs every unit's testbench on
both simulators, as a sweep (`sweep`) that spreads over a Ray cluster's workers.
"""

import os

import numpy as np
import pytest

from vsq_accel.golden.tile_program import calibrate
from vsq_accel.golden.tile_weights import random_attention_head, random_multi_head
from vsq_accel.sim.accelerator_tests import long_rows, tile_shapes
from vsq_accel.sim.regression import cases, passes
from vsq_accel.sim.runner import selected_simulators
from vsq_accel.spec.random_configs import drawn
from vsq_accel.toolchain.compiler import COMPILERS

SEED = int(os.environ.get("CONFIG_SEED", 2026))
COUNT = int(os.environ.get("RANDOM_CONFIGS", 1))
CONFIGS = drawn(SEED, COUNT)
CASES = [(simulator, index, design, testcase) for index in range(COUNT)
         for simulator, design, testcase in cases(selected_simulators(), wide=False)]


@pytest.mark.rtl
@pytest.mark.parametrize("simulator, index, design, testcase", CASES,
                         ids=[f"{simulator}-seed{SEED}-{index}-{design}-{testcase}"
                              for simulator, index, design, testcase in CASES])
def test_random_configuration(simulator, index, design, testcase):
    config = CONFIGS[index]
    print(f"CONFIG_SEED={SEED}, configuration {index}: {config.to_json()}")
    assert passes(config, simulator, design, testcase), (
        f"{testcase} on {simulator} failed for CONFIG_SEED={SEED} configuration {index}: "
        f"{config.to_json()}")


def test_the_draw_is_valid_and_reproducible():
    """Every configuration drawn is valid, and the seed alone fixes the draw."""
    assert drawn(SEED, COUNT) == CONFIGS
    many = [drawn(seed, 1, wide)[0] for seed in range(200) for wide in (False, True)]
    assert len({config.lanes for config in many}) == 8
    assert {config.vector_scales for config in many} == {True, False}
    assert {config.ppu_parts > 1 for config in many} == {True, False}
    assert {len(config.supported_formats) for config in many} == {1, 2, 3}
    assert any(config.nibble_passes for config in many)
    assert {config.ppu_gelu for config in many} == {True, False}


@pytest.mark.parametrize("wide", [False, True])
def test_the_long_row_tiles_fit_the_buffers_drawn(wide):
    """The long-row tests' SA and MHSA compile on every configuration of 30 draws: the
    wide draw's rows reach 641 tokens, and its buffers grow with them (the compiler
    refused 24 of 40 wide draws when they did not)."""
    rng = np.random.default_rng(0)
    for seed in range(30):
        config = drawn(seed, 1, wide)[0]
        _, d_model = tile_shapes(config)
        x = rng.normal(size=(long_rows(config), d_model))
        for tile, weights in (("sa", random_attention_head(rng, d_model, d_model // 2)),
                              ("mhsa", random_multi_head(rng, d_model, 2, d_model // 2))):
            _, _, calibration = calibrate(tile, x, weights, config)
            COMPILERS[tile](x, weights, config, calibration)   # raises CompileError if not
