"""The emitted MAC array on Icarus and Verilator, every output against the golden model.

SIM=icarus or SIM=verilator in the environment runs one simulator only.
"""

import os
from pathlib import Path

import pytest

from golden.config import AcceleratorConfig
from sim.runner import SIMULATORS, run_cocotb

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
CONFIGS = ["int4_vsq_l4", "int8_l4"]
TESTCASES = ["float_gemms_back_to_back", "random_stalls_on_every_interface",
             "corner_operands", "accumulator_saturates_both_ways", "long_reduction"]
SELECTED = [s for s in os.environ.get("SIM", " ".join(SIMULATORS)).split() if s in SIMULATORS]


@pytest.mark.rtl
@pytest.mark.parametrize("testcase", TESTCASES)
@pytest.mark.parametrize("config_name", CONFIGS)
@pytest.mark.parametrize("simulator", SELECTED)
def test_mac_array(simulator, config_name, testcase):
    config = AcceleratorConfig.load(CONFIG_DIR / f"{config_name}.json")
    tests, failures = run_cocotb(config, simulator, "vsq_mac_array", "sim.mac_array_tests",
                                 testcase=testcase)
    assert tests == 1 and failures == 0, f"{testcase} on {simulator}: see the cocotb log above"
