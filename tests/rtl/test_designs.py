"""The emitted designs on Icarus and Verilator, every output against the golden model.

Every configuration in configs/ runs every cocotb test of every design; the default
configuration (16 lanes, slower to compile and, in Icarus, to run) runs the first test
of each in Verilator. Verilator
builds the models without C++ optimization: the runs are short, the builds are what
cost (5 minutes of the suite instead of 9). SIM=icarus or SIM=verilator in the
environment runs one simulator only.
"""

from pathlib import Path

import pytest

from vsq_accel.rtl_gen.designs import EMITTED, cocotb_tests
from vsq_accel.sim.runner import measuring_coverage, run_cocotb, selected_simulators
from vsq_accel.spec.config import AcceleratorConfig

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
CONFIGS = {"default": AcceleratorConfig(),
           **{path.stem: AcceleratorConfig.load(path)
              for path in sorted(CONFIG_DIR.glob("*.json"))}}
# design (Verilog top) -> (cocotb module, its tests, collected from the module)
DESIGN_TESTS = {name: (design.tests, cocotb_tests(design.tests))
                for name, design in EMITTED.items() if design.tests and not design.suite}
SELECTED = selected_simulators()
# `make coverage` leaves the default out: a block's coverage counts each build, and one
# test of each design would count as the suite's.
CASES = [(simulator, name, design, testcase)
         for simulator in SELECTED for name in CONFIGS
         for design, (_, testcases) in DESIGN_TESTS.items() for testcase in testcases
         if name != "default" or (testcase == testcases[0] and simulator == "verilator"
                                  and not measuring_coverage())]


@pytest.mark.rtl
@pytest.mark.parametrize("simulator, config_name, design, testcase", CASES,
                         ids=["-".join(case) for case in CASES])
def test_design(simulator, config_name, design, testcase):
    module = DESIGN_TESTS[design][0]
    tests, failures = run_cocotb(CONFIGS[config_name], simulator, design, module,
                                 testcase=testcase, quick_build=True)
    assert tests == 1 and failures == 0, f"{testcase} on {simulator}: see the cocotb log above"


@pytest.mark.rtl
@pytest.mark.parametrize("simulator", SELECTED)
def test_corner_turn_with_a_beat_count_not_a_power_of_two(simulator):
    """Rows of up to 66 beats (P = 1): each half of the turn's memories must still hold
    a whole row. The configuration files all have a power of two of beats; a random
    configuration (CONFIG_SEED=11) found the turn losing the second half's last beats."""
    config = AcceleratorConfig(lanes=4, softmax_width=1, softmax_max_row=66)
    design = EMITTED["corner_turn"]
    tests, failures = run_cocotb(config, simulator, "corner_turn", design.tests,
                                 quick_build=True)
    assert tests == len(cocotb_tests(design.tests)) and failures == 0


@pytest.mark.rtl
@pytest.mark.parametrize("design", ["vsq_mac_array", "row_requantizer"])
@pytest.mark.parametrize("simulator", SELECTED)
def test_every_format(simulator, design):
    """Every test of the MAC array and of the row requantizer on an array that runs
    INT4-VSQ, INT4 and INT8 (in nibble passes), chosen by transfer or command: the
    array's own format's tests and GEMMs of the three formats back to back; the
    exponentials with stalls, scale boundaries, ties and clipping in each format."""
    config = AcceleratorConfig(lanes=4, formats=["int4_vsq", "int4", "int8"])
    tests, failures = run_cocotb(config, simulator, design, EMITTED[design].tests,
                                 quick_build=True)
    assert tests == len(cocotb_tests(EMITTED[design].tests)) and failures == 0


@pytest.mark.rtl
@pytest.mark.parametrize("simulator", SELECTED)
def test_the_gelu(simulator):
    """Every test of the PPU's scaling stage on a PPU with a GELU: random columns with
    GELU columns among them, with stalls, one column a cycle at the longer latency, and
    y over its whole range through the GELU with ties at every rounding."""
    config = AcceleratorConfig(lanes=4, ppu_gelu=True)
    design = EMITTED["ppu_scale"]
    tests, failures = run_cocotb(config, simulator, "ppu_scale", design.tests,
                                 quick_build=True)
    assert tests == len(cocotb_tests(design.tests)) and failures == 0


@pytest.mark.rtl
@pytest.mark.parametrize("lanes, share, gelu", [(4, 1, True), (4, 4, True), (6, 3, False)])
@pytest.mark.parametrize("simulator", SELECTED)
def test_the_ppu_in_parts(simulator, lanes, share, gelu):
    """Every test of the PPU's scaling stage on a PPU whose column passes in `share`
    parts (configs/ and `test_the_gelu` take 2, or 1 on one lane): random columns with
    stalls on both sides, ties, saturation and extremes in every part, a column every
    `share` cycles at the latency that comes with it, and the GELU."""
    config = AcceleratorConfig(lanes=lanes, ppu_share=share, ppu_gelu=gelu)
    design = EMITTED["ppu_scale"]
    tests, failures = run_cocotb(config, simulator, "ppu_scale", design.tests,
                                 quick_build=True)
    assert tests == len(cocotb_tests(design.tests)) and failures == 0
