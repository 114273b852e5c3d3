"""Configurations that random draws found defects in (configs/regressions/), each run
through the testbench of the design it broke, on both simulators.

- saturation_acc29_l8: the MAC array's saturation test summed maximal products from 0,
  about 600 000 slices at acc_bits = 29, and ran for as long as it was let (the array
  did not hang; the testbench's work grew as 2^acc_bits). It now preloads the
  accumulators one slice short of their limits. The draw had a softmax 15 logits wide
  with softmax_max_row = 42, which the rule that a block of keys fits the softmax now
  refuses (it would need 240): 8 wide here.
- requantizer_banks_l6_v8: the requantizer stalled its input 2 cycles in every 32: with
  V = 8 and deep scale and element stages, a bank was still busy when the gather came
  back to it. The requantizer now has `spec.timing.requant_banks` banks.

Both have the buffers of the random draw (`spec.random_configs.SMALL_BUFFERS`).
REGRESSIONS_EVERY_DESIGN=1 runs every design's testbench on them instead."""

import os
from pathlib import Path

import pytest

from vsq_accel.rtl_gen.designs import EMITTED, cocotb_tests
from vsq_accel.sim.runner import run_cocotb, selected_simulators
from vsq_accel.spec.config import AcceleratorConfig

REGRESSION_DIR = Path(__file__).resolve().parents[2] / "configs" / "regressions"
# configuration file -> the design whose testbench found the defect
BROKE = {"saturation_acc29_l8": "vsq_mac_array", "requantizer_banks_l6_v8": "requantizer"}
EVERY_DESIGN = os.environ.get("REGRESSIONS_EVERY_DESIGN") == "1"


def designs(name):
    if EVERY_DESIGN:
        return [design for design, emitted in EMITTED.items() if emitted.tests]
    return [BROKE[name]]


CASES = [(simulator, path.stem, design, testcase)
         for simulator in selected_simulators()
         for path in sorted(REGRESSION_DIR.glob("*.json"))
         for design in designs(path.stem) for testcase in cocotb_tests(EMITTED[design].tests)]


def test_every_regression_names_the_design_it_broke():
    assert sorted(BROKE) == sorted(path.stem for path in REGRESSION_DIR.glob("*.json"))


@pytest.mark.rtl
@pytest.mark.parametrize("simulator, name, design, testcase", CASES,
                         ids=["-".join(case) for case in CASES])
def test_regression(simulator, name, design, testcase):
    config = AcceleratorConfig.load(REGRESSION_DIR / f"{name}.json")
    tests, failures = run_cocotb(config, simulator, design, EMITTED[design].tests,
                                 testcase=testcase, quick_build=True)
    assert tests == 1 and failures == 0, f"{testcase} on {simulator}: see the cocotb log above"
