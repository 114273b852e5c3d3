"""The accelerator end to end on Icarus and Verilator (`sim/accelerator_tests.py`): SA,
MHSA and FFN compiled, loaded through the AXI ports and run, every command's results
against the golden interpreter, on INT4-VSQ, INT8 and odd configurations; the tiles
whose cycles must be the performance model's on every file of configs/ as well; the
long-row tests on INT4-VSQ with a 16-logit softmax; and one layer of the pretrained MiniLM
through the RTL.

Icarus runs small configurations (about a thousand cycles a second for four lanes);
Verilator also runs the default 16-lane one, built without C++ optimization (the runs
are short; the build is what costs). The testbench draws its seed from SEED in
the environment (printed in the log); SIM=icarus or SIM=verilator runs one simulator."""

import dataclasses
from pathlib import Path

import pytest

from vsq_accel.rtl_gen.designs import cocotb_tests
from vsq_accel.sim.runner import measuring_coverage, run_cocotb, selected_simulators
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.precision import PrecisionPolicy

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
# Small buffers: the tiles of the tests fit, and the simulators build them faster.
_SMALL = {"left_buffer_vectors": 512, "right_buffer_vectors": 512,
          "output_buffer_vectors": 128, "param_entries": 128, "accumulator_entries": 64}
CONFIGS = {
    "default": AcceleratorConfig(),
    "int4_vsq_l4": AcceleratorConfig.load(CONFIG_DIR / "int4_vsq_l4.json"),
    "int8_l2": AcceleratorConfig(lanes=2, vector_size=8, data_bits=8, vector_scales=False,
                                 lane_stages=2, softmax_max_row=64, ppu_gelu=True, **_SMALL),
    "odd_l5": AcceleratorConfig(lanes=5, vector_size=8, scale_bits=6, scale_product_bits=10,
                                acc_bits=22, softmax_width=3, softmax_frac_bits=3,
                                softmax_exp_bits=12, softmax_max_row=100,
                                softmax_recip_bits=14, ppu_gelu=True, **_SMALL),
}
# The other files of configs/, with the small buffers, run the tiles whose cycles must be
# the model's.
CONFIGS |= {name: dataclasses.replace(AcceleratorConfig.load(CONFIG_DIR / f"{name}.json"),
                                      **_SMALL)
            for name in ("int8_l4", "int4_vsq4_l1_acc16")}
# The long-row tests run rows of 4 x softmax_max_row + 1: the shortest softmax that holds
# a block of keys (lcm(softmax_lanes, vector_size) = 16) keeps them quick.
CONFIGS["long_rows_l4"] = dataclasses.replace(CONFIGS["int4_vsq_l4"], softmax_max_row=16)
# INT4-VSQ, INT4 and INT8 (in nibble passes) chosen by command.
CONFIGS["multi_format_l4"] = dataclasses.replace(CONFIGS["int4_vsq_l4"], **_SMALL,
                                                 formats=("int4_vsq", "int4", "int8"))
# The PPU's scaling stage in four parts, one lane each (the even configurations above
# take two, the odd ones one).
CONFIGS["ppu_in_4_parts_l4"] = dataclasses.replace(CONFIGS["int4_vsq_l4"], **_SMALL,
                                                   ppu_share=4)
TESTS = cocotb_tests("vsq_accel.sim.accelerator_tests")
LONG = [test for test in TESTS if "long" in test]
FORMATS = [test for test in TESTS if "format" in test]
HOST_STEPS = [test for test in TESTS if "host_gelu" in test]
SHORT = [test for test in TESTS if test not in LONG + FORMATS + HOST_STEPS]
# (simulator, configuration) -> the tests it runs.
PLAN = {("icarus", name): SHORT for name in ("int4_vsq_l4", "int8_l2", "odd_l5")}
PLAN |= {("verilator", name): SHORT for name in ("default", "int8_l2", "odd_l5")}
PLAN |= {(simulator, "long_rows_l4"): LONG for simulator in ("icarus", "verilator")}
# The host step in blocks of rows needs more tokens than half of LEFT holds of X: the
# configurations with small buffers.
for key in (("icarus", "int8_l2"), ("verilator", "odd_l5")):
    PLAN[key] = PLAN[key] + HOST_STEPS
PLAN |= {(simulator, "multi_format_l4"): FORMATS + ["refuses_bad_commands"]
         for simulator in ("icarus", "verilator")}
PLAN |= {(simulator, name): ["tiles_take_the_models_cycles_and_activity",
                              "multi_head_attention_cycles_and_activity"]
         for simulator, name in (("verilator", "int8_l4"), ("icarus", "int4_vsq4_l1_acc16"),
                                 ("verilator", "ppu_in_4_parts_l4"))}
# Tiles of one slice: the PPU holds the array; each y row's padding columns.
PLAN[("verilator", "ppu_in_4_parts_l4")] += ["y_rows_of_every_length_and_stores_of_every_buffer"]
if measuring_coverage():
    # a block's coverage counts each build: every build the run makes runs every test
    PLAN = {("verilator", name): SHORT + LONG * (name == "long_rows_l4")
            for _, name in PLAN}
# Where the writers of `writers_meet` (and the STORE beside them) need not meet: the
# softmax ends before the matmul's results reach the port (a matter of timing, not of
# function).
APART = {"long_rows_l4", "int8_l4", "int4_vsq4_l1_acc16"}
CASES = [(simulator, name, test) for (simulator, name), tests in PLAN.items()
         if simulator in selected_simulators() for test in tests]


@pytest.mark.rtl
@pytest.mark.parametrize("simulator, config_name, testcase", CASES,
                         ids=["-".join(case) for case in CASES])
def test_accelerator(simulator, config_name, testcase):
    tests, failures = run_cocotb(CONFIGS[config_name], simulator, "accelerator",
                                 "vsq_accel.sim.accelerator_tests", testcase=testcase,
                                 quick_build=True,
                                 extra_env={"REQUIRE_MEETING": "0"} if config_name in APART
                                 else None)
    assert tests == 1 and failures == 0, f"{testcase} on {simulator}: see the cocotb log above"


@pytest.mark.rtl
@pytest.mark.skipif("verilator" not in selected_simulators(), reason="runs on Verilator")
def test_a_minilm_layer_runs_bit_exact_in_mixed_formats():
    """One layer of the pretrained all-MiniLM-L6-v2 for a short sentence (the small
    version of `make minilm-layer`) on four multi-format lanes with the default buffers,
    under the layer's entries of the measured mixed-precision policy (P V and Wo in
    INT8, the rest INT4-VSQ; docs/accuracy.md): the attention's and the FFN's outputs
    equal the golden run's bit for bit (asserted in the testbench), and the layer's
    output stays close to float. Built with C++ optimization: the run (460 k cycles)
    is what costs here."""
    from vsq_accel.bench.minilm_layer import run

    config = dataclasses.replace(CONFIGS["int4_vsq_l4"], formats=("int4_vsq", "int4", "int8"))
    figures = run("A small accelerator.", 0, config,
                  formats=PrecisionPolicy({"layer0.pv": "int8", "layer0.wo": "int8"}))
    assert figures is not None, "the RTL run failed: see the cocotb log above"
    assert figures["cosine_to_float"] > 0.95, figures
