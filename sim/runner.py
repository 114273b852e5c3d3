"""Build emitted Verilog with cocotb's runner and run a cocotb test module on it.

Icarus and Verilator are driven the same way; each (design, configuration, simulator)
gets its own build folder under sim_build/. WAVES=1 in the environment builds with
tracing in a folder of its own, <simulator>-waves: Icarus writes <toplevel>.fst there,
Verilator a dump.vcd in each test's folder. RTL_COVERAGE=1 builds Verilator's models with line
and toggle coverage, in <simulator>-coverage; each test writes coverage.dat in its folder
(`make coverage` merges them: `sim/coverage.py`).
"""

import fcntl
import functools
import hashlib
import os
import re
import shutil
from pathlib import Path

from cocotb_tools.runner import get_results, get_runner

from vsq_accel.rtl_gen.emit import emit
from vsq_accel.rtl_gen.verilator import LINT_WAIVERS, verilator_environment

__all__ = ["SIMULATORS", "run_cocotb", "selected_simulators", "measuring_coverage"]

SIMULATORS = ("icarus", "verilator")
_ROOT = Path(__file__).resolve().parent.parent
_BUILD_ROOT = _ROOT / "sim_build"
# Verilog-2005 semantics after the runner's -g2012: a variable's initializer is then an
# event at time 0, which Yosys's Verilog relies on to evaluate every `always @*` block
# once (in 2012 mode a combinational output of constant inputs stays X until one moves).
_ICARUS_ARGS = ["-g2005"]
# cocotbext-axi 0.1.28 reads an Event's data, which cocotb 2 deprecates: a warning at
# every AXI4-Lite transfer otherwise.
_QUIET = "ignore::DeprecationWarning:cocotbext.axi.axil_master"
# Verilator's coverage points: every statement line and every bit's toggles.
_COVERAGE_ARGS = ["--coverage-line", "--coverage-toggle"]
# Make variables of Verilator's C++ build without optimization.
_UNOPTIMIZED = "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"


def selected_simulators():
    """The simulators SIM names in the environment (both when it is not set)."""
    return [name for name in os.environ.get("SIM", " ".join(SIMULATORS)).split()
            if name in SIMULATORS]


def measuring_coverage():
    """RTL_COVERAGE=1 (`make coverage`): Verilator's models record their coverage."""
    return os.environ.get("RTL_COVERAGE") == "1"


def run_cocotb(config, simulator, toplevel, test_module, testcase=None, extra_env=None,
               quick_build=False):
    """Run cocotb tests of `test_module` on `toplevel`; return (tests, failures).
    `quick_build`: Verilator's C++ compiled without optimization, about three times
    faster to build for short runs of a large design."""
    runner, build_dir = _build(config, simulator, toplevel, quick_build)
    # A folder per test, so that parallel runs keep their results and waveforms apart.
    test_dir = build_dir / f"{test_module}.{testcase or 'all'}"
    test_dir.mkdir(exist_ok=True)
    results = test_dir / "results.xml"
    try:
        runner.test(
            test_module=test_module,
            hdl_toplevel=toplevel,
            build_dir=build_dir,
            test_dir=test_dir,
            results_xml=results,
            # The runner's `testcase` also picks every test whose name ends in the name
            # (requantizer_stream would run row_requantizer_stream): match it whole.
            test_filter=(None if testcase is None
                         else rf"^{re.escape(test_module)}\.{re.escape(testcase)}$"),
            timescale=("1ns", "1ps"),
            extra_env={"ACCEL_CONFIG": config.to_json(), "PYTHONWARNINGS": _QUIET,
                       **(extra_env or {})},
        )
    except SystemExit:
        pass    # cocotb's runner exits when a test fails; the results file says which
    return get_results(results)


def _emit_keeping_unchanged(config, rtl_dir, toplevel):
    """Emit into a scratch folder and move over only the files whose text changed: an
    unchanged design keeps its files' times, so neither simulator rebuilds the model
    that another pytest worker may be running (Icarus's vvp file, Verilator's binary)."""
    scratch = rtl_dir.with_name("rtl.new")
    shutil.rmtree(scratch, ignore_errors=True)
    emitted = emit(config, scratch, designs=[toplevel])
    rtl_dir.mkdir(exist_ok=True)
    for source in scratch.iterdir():
        target = rtl_dir / source.name
        if not target.exists() or target.read_bytes() != source.read_bytes():
            source.replace(target)
    shutil.rmtree(scratch)
    return [rtl_dir / source.name for source in emitted]


@functools.cache
def _build(config, simulator, toplevel, quick_build=False):
    """Emit and compile once per process; the runner keeps what test() needs."""
    if simulator not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r}; choose from {SIMULATORS}")
    quick = quick_build and simulator == "verilator"
    if simulator == "verilator":
        os.environ.update(verilator_environment())
        os.environ["MAKEFLAGS"] = " ".join(
            flag for flag in os.environ["MAKEFLAGS"].split() if not flag.startswith("OPT_"))
        if quick:
            os.environ["MAKEFLAGS"] += " " + _UNOPTIMIZED
    waves = os.environ.get("WAVES") == "1"
    coverage = measuring_coverage() and simulator == "verilator"
    variant = "-waves" if waves else "-coverage" if coverage else "-O0" if quick else ""
    digest = hashlib.sha1(config.to_json().encode()).hexdigest()[:8]
    build_dir = (_BUILD_ROOT / f"{toplevel}-{config.format_name}-L{config.lanes}-{digest}"
                 / (simulator + variant))
    build_dir.mkdir(parents=True, exist_ok=True)
    runner = get_runner(simulator)
    # Parallel pytest workers may need the same model: one builds, the others wait.
    with open(build_dir / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        runner.build(
            sources=_emit_keeping_unchanged(config, build_dir / "rtl", toplevel),
            # Verilator stops on warnings; the lint waivers name the ones Amaranth trips.
            build_args=([str(LINT_WAIVERS)] + _COVERAGE_ARGS * coverage
                        if simulator == "verilator" else _ICARUS_ARGS),
            hdl_toplevel=toplevel,
            build_dir=build_dir,
            timescale=("1ns", "1ps"),
            waves=waves,
        )
    return runner, build_dir
