"""Random valid configurations through the RTL, so that the suite is not held only to the
configurations someone picked.

The configurations are drawn from a bounded space (`draw`) with a seed printed in every
test's name: CONFIG_SEED (default 2026) and RANDOM_CONFIGS (default 1) in the
environment choose them, and CONFIG_SEED=<seed> reproduces a draw. `make test` runs the
tile engine's cocotb tests (every unit of the datapath, every tile, but the long-row
ones) on the draw on Verilator (on Icarus when it is the only simulator); `make
test-random N=50` draws 50 configurations from a wider space with a new seed and runs
them on both simulators, with every unit's own testbench.
"""

import dataclasses
import os
import random

import pytest

from vsq_accel.rtl_gen.designs import EMITTED, cocotb_tests
from vsq_accel.sim.runner import run_cocotb, selected_simulators
from vsq_accel.spec.config import AcceleratorConfig, ConfigError

SEED = int(os.environ.get("CONFIG_SEED", 2026))
COUNT = int(os.environ.get("RANDOM_CONFIGS", 1))
# The wider draw of `make test-random`: more lanes, and every unit's testbench.
WIDE = os.environ.get("RANDOM_WIDE") == "1"
# Buffers big enough for the testbenches' tiles (the long-row ones: 4 x softmax_max_row
# + 1 tokens), small enough to build quickly.
_SMALL = {"left_buffer_vectors": 2048, "right_buffer_vectors": 2048,
          "output_buffer_vectors": 512, "param_entries": 512, "accumulator_entries": 64}


def draw(rng, wide=False):
    """A valid configuration: every key drawn in (a bounded part of) its allowed range,
    drawn again until the configuration rules accept the combination."""
    while True:
        lanes = rng.randint(1, 8 if wide else 4)
        values = {
            "lanes": lanes,
            "vector_size": rng.choice((8, 16, 32) if wide else (8, 16)),
            "data_bits": rng.choice((4, 8)),
            "vector_scales": rng.random() < 0.75,
            "scale_bits": rng.randint(2, 8),
            "scale_product_bits": rng.randint(1, 16),
            "acc_bits": rng.randint(16, 32),
            "lane_stages": rng.randint(2, 4),
            "softmax_width": rng.choice((None, rng.randint(1, 2 * lanes))),
            "softmax_logit_bits": rng.randint(8, 16),
            "softmax_frac_bits": rng.randint(0, 4),
            "softmax_exp_bits": rng.randint(8, 16),
            # the long-row tests run rows of four times this and one: up to 97
            # tokens in `make test`, 641 in the wide draw
            "softmax_max_row": rng.randint(16, 160 if wide else 24),
            "softmax_recip_bits": rng.randint(10, 24),
            "softmax_out_bits": rng.randint(4, 8),
            "ppu_bits": rng.randint(12, 24),
            "ppu_mult_bits": rng.randint(8, 24),
            "ppu_recip_bits": rng.randint(8, 20),
            **_SMALL,
        }
        try:
            config = AcceleratorConfig(**values)
        except ConfigError:
            continue
        # The formats are drawn once the rest is valid, and dropped where the rest cannot
        # take them (an 8-bit array, or acc_bits too narrow for INT8's products); then
        # the PPU's GELU.
        formats = rng.choice((None, ("int4_vsq", "int4", "int8"), ("int4_vsq", "int8"),
                              ("int4", "int8"), ("int4_vsq", "int4")))
        gelu = rng.random() < 0.5
        try:
            return AcceleratorConfig(**values, formats=formats, ppu_gelu=gelu)
        except ConfigError:
            return dataclasses.replace(config, ppu_gelu=gelu)


def drawn():
    rng = random.Random(SEED)
    return [draw(rng, WIDE) for _ in range(COUNT)]


CONFIGS = drawn()
DESIGNS = [name for name, design in EMITTED.items()
           if design.tests and (WIDE or name == "accelerator")]
# In `make test` the draw runs on Verilator alone and leaves out the long-row tests
# (both simulators run them on the fixed long_rows_l4 of `test_accelerator.py`): the
# suite's time budget. `make test-random` runs every test on both, but for the
# host-step test on Icarus, whose tokens grow with LEFT (minutes a run there).
CASES = [(simulator, index, design, testcase)
         for simulator in selected_simulators() for index in range(COUNT)
         for design in DESIGNS for testcase in cocotb_tests(EMITTED[design].tests)
         if (WIDE and (simulator == "verilator" or "host_gelu" not in testcase))
         or (not WIDE and "long" not in testcase
             and (simulator == "verilator" or selected_simulators() == ["icarus"]))]


@pytest.mark.rtl
@pytest.mark.parametrize("simulator, index, design, testcase", CASES,
                         ids=[f"{simulator}-seed{SEED}-{index}-{design}-{testcase}"
                              for simulator, index, design, testcase in CASES])
def test_random_configuration(simulator, index, design, testcase):
    config = CONFIGS[index]
    print(f"CONFIG_SEED={SEED}, configuration {index}: {config.to_json()}")
    # writers_meet and a_store_reads_beside_the_writers check what they can on any
    # configuration, but the timing of a random one may keep the writers apart.
    tests, failures = run_cocotb(config, simulator, design, EMITTED[design].tests,
                                 testcase=testcase, quick_build=True,
                                 extra_env={"REQUIRE_MEETING": "0"})
    assert tests == 1 and failures == 0, (
        f"{testcase} on {simulator} failed for CONFIG_SEED={SEED} configuration {index}: "
        f"{config.to_json()}")


def test_the_draw_is_valid_and_reproducible():
    """Every configuration drawn is valid, and the seed alone fixes the draw."""
    rng = random.Random(SEED)
    assert [draw(rng, WIDE) for _ in range(COUNT)] == CONFIGS
    many = [draw(random.Random(seed), wide) for seed in range(200) for wide in (False, True)]
    assert len({config.lanes for config in many}) == 8
    assert {config.vector_scales for config in many} == {True, False}
    assert {len(config.supported_formats) for config in many} == {1, 2, 3}
    assert any(config.nibble_passes for config in many)
    assert {config.ppu_gelu for config in many} == {True, False}
