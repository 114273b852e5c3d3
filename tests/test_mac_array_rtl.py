"""The emitted MAC array on Icarus and Verilator, every output against the golden model.

Every configuration in configs/ runs every cocotb test; the default configuration (16
lanes, slower to compile) runs the float GEMMs. SIM=icarus or SIM=verilator in the
environment runs one simulator only.
"""

import os
from pathlib import Path

import pytest

from golden.config import AcceleratorConfig
from sim.runner import SIMULATORS, run_cocotb

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
CONFIGS = {"default": AcceleratorConfig(),
           **{path.stem: AcceleratorConfig.load(path)
              for path in sorted(CONFIG_DIR.glob("*.json"))}}
TESTCASES = ["float_gemms_back_to_back", "random_stalls_on_every_interface",
             "corner_operands", "accumulator_saturates_both_ways", "long_reduction"]
SELECTED = [s for s in os.environ.get("SIM", " ".join(SIMULATORS)).split() if s in SIMULATORS]
CASES = [(simulator, name, testcase)
         for simulator in SELECTED for name in CONFIGS for testcase in TESTCASES
         if name != "default" or testcase == "float_gemms_back_to_back"]


@pytest.mark.rtl
@pytest.mark.parametrize("simulator, config_name, testcase", CASES,
                         ids=["-".join(case) for case in CASES])
def test_mac_array(simulator, config_name, testcase):
    tests, failures = run_cocotb(CONFIGS[config_name], simulator, "vsq_mac_array",
                                 "sim.mac_array_tests", testcase=testcase)
    assert tests == 1 and failures == 0, f"{testcase} on {simulator}: see the cocotb log above"
