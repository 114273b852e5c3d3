"""The random-configuration regression: which cocotb tests a drawn configuration runs,
and running one. `tests/rtl/test_random_configs.py` runs the draw of `make test`;
`make test-random` runs the wide draw as a sweep (the `rtl` job of `sweep.jobs`)."""

from vsq_accel.rtl_gen.designs import EMITTED, cocotb_tests
from vsq_accel.sim.runner import run_cocotb

__all__ = ["cases", "passes"]


def cases(simulators, wide):
    """(simulator, design, testcase) of every test a configuration runs. Narrow (`make
    test`): the tile engine's tests but the long-row ones (both simulators run those on
    the fixed configurations of tests/rtl/test_accelerator.py), on Verilator, or on
    Icarus when it is the only simulator: the suite's time budget. Wide: every design's
    tests on every simulator, but the host-step test on Icarus, whose tokens grow with
    LEFT (minutes a run there)."""
    designs = [name for name, design in EMITTED.items()
               if design.tests and (wide or name == "accelerator")]
    return [(simulator, design, testcase)
            for simulator in simulators for design in designs
            for testcase in cocotb_tests(EMITTED[design].tests)
            if (wide and (simulator == "verilator" or "host_gelu" not in testcase))
            or (not wide and "long" not in testcase
                and (simulator == "verilator" or simulators == ["icarus"]))]


def passes(config, simulator, design, testcase):
    """Whether one test passes on `config`. writers_meet and
    a_store_reads_beside_the_writers check what they can on any configuration, but the
    timing of a random one may keep the writers apart (REQUIRE_MEETING=0)."""
    tests, failures = run_cocotb(config, simulator, design, EMITTED[design].tests,
                                 testcase=testcase, quick_build=True,
                                 extra_env={"REQUIRE_MEETING": "0"})
    return tests == 1 and failures == 0
