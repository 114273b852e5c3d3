"""What a sweep can do with one configuration: each job takes the configuration and its
options and returns flat figures, named so that the jobs' figures never collide
(`cycles_deit_s`, `luts_array`), or raises where the configuration fails it (lint, a
testbench). docs/sweeps.md tables the jobs, their figures and their options."""

import dataclasses
import tempfile
from pathlib import Path
from typing import Callable

from vsq_accel.accuracy import vit_digits
from vsq_accel.accuracy.arithmetic import IntegerArithmetic
from vsq_accel.perf.__main__ import summarize
from vsq_accel.perf.energy import TABLE_PATH, EnergyTable, EnergyTableError
from vsq_accel.perf.energy_report import energy_point
from vsq_accel.perf.model import Assumptions, cost_workload
from vsq_accel.perf.workloads import WORKLOADS, with_batch
from vsq_accel.rtl_gen.designs import SYNTHESIZED
from vsq_accel.rtl_gen.emit import emit
from vsq_accel.rtl_gen.synth import synthesize
from vsq_accel.rtl_gen.verilator import lint as verilator_lint
from vsq_accel.sim.regression import cases, passes
from vsq_accel.sim.runner import SIMULATORS, selected_simulators

__all__ = ["JOBS", "Job", "JobError", "JobFailed"]


class JobError(ValueError):
    """Options a job cannot take, named."""


class JobFailed(RuntimeError):
    """The configuration failed the job (not a defect of the sweep): lint, a testbench."""


@dataclasses.dataclass(frozen=True)
class Job:
    """A job: `run(config, **options)` -> figures; `defaults` are its options, which
    `check` raises JobError on, or completes where a default depends on the environment
    (returning them); `memory`: the bytes a task of it may take, which Ray counts against
    each node's."""

    name: str
    run: Callable
    defaults: dict
    check: Callable = lambda options: options
    memory: int = 1 << 30

    def options(self, given):
        """The defaults updated by `given`, checked."""
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            raise JobError(f"job {self.name!r} has no option {unknown[0]!r}; its options are "
                           f"{', '.join(self.defaults) or 'none'}")
        options = {**self.defaults, **given}
        for name, value in options.items():
            default = self.defaults[name]
            if default is not None and not _same_kind(value, default):
                raise JobError(f"job {self.name!r}: option {name!r} must be like "
                               f"{default!r}, not {value!r}")
        return self.check(options) or options


def _same_kind(value, default):
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _emit(config, lint):
    with tempfile.TemporaryDirectory() as folder:
        sources = emit(config, Path(folder))
        for source in sources if lint else ():
            clean, report = verilator_lint(source, source.stem)
            if not clean:
                raise JobFailed(f"lint of {source.name} failed:\n{report}")
        return {"verilog_kib": round(sum(source.stat().st_size for source in sources) / 1024)}


def _workloads(options):
    workloads = options["workloads"]
    if not workloads or not all(isinstance(name, str) for name in workloads):
        raise JobError("option 'workloads' must be a non-empty list of workload names")
    for name in workloads:
        if name not in WORKLOADS:
            raise JobError(f"unknown workload {name!r}; the workloads are "
                           f"{', '.join(sorted(WORKLOADS))}")
    if options.get("batch", 1) < 1:
        raise JobError(f"option 'batch' must be at least 1, not {options['batch']}")


def _perf(config, workloads, batch):
    figures = {}
    for name in workloads:
        total = summarize(cost_workload(with_batch(WORKLOADS[name], batch), config), config,
                          Assumptions())
        figures |= {f"cycles_{name}": total["cycles"],
                    f"utilization_{name}": round(total["utilization"], 4),
                    f"inferences_per_s_{name}": round(total["inferences_per_s"], 2)}
    return figures


def _check_energy(options):
    _workloads(options)
    if options["host"] not in ("dram", "on-chip"):
        raise JobError(f"option 'host' must be 'dram' or 'on-chip', not {options['host']!r}")
    try:
        EnergyTable.load(TABLE_PATH).factor(options["node"], options["vdd"])
    except EnergyTableError as error:
        raise JobError(f"job 'energy': {error}") from None


def _energy(config, workloads, node, vdd, host):
    table = EnergyTable.load(TABLE_PATH)
    figures = {}
    for name in workloads:
        for format in config.supported_formats:
            point = energy_point(WORKLOADS[name], config, format, table, node, vdd,
                                 Assumptions(), host)
            figures |= {f"energy_uj_{name}_{format}": round(point.picojoules / 1e6, 3),
                        f"tops_per_w_{name}_{format}": round(point.tops_per_w(), 3)}
    return figures


def _check_synth(options):
    if options["block"] not in SYNTHESIZED:
        raise JobError(f"unknown block {options['block']!r} to synthesize; the blocks are "
                       f"{', '.join(SYNTHESIZED)}")


def _synth(config, block, place_and_route):
    figures = synthesize(lambda: SYNTHESIZED[block].build(config), block, place_and_route)
    keys = ["transistors", "luts", "flip_flops", "dsps", "block_rams"]
    keys += ["fmax_mhz"] * ("fmax_mhz" in figures)
    return {f"{key}_{block}": figures[key] for key in keys}


def _check_accuracy(options):
    if options["images"] < 1:
        raise JobError(f"option 'images' must be at least 1, not {options['images']}")


def _accuracy(config, images):
    _, test_x, _, test_y = vit_digits.load_split()
    arithmetic = IntegerArithmetic(config, attention_matmuls=True)
    return {"top1_vit_digits": vit_digits.top1(vit_digits.load_weights(), test_x[:images],
                                               test_y[:images], arithmetic)}


def _check_rtl(options):
    simulators = options["simulators"] or selected_simulators()
    if not simulators or not set(simulators) <= set(SIMULATORS):
        raise JobError(f"option 'simulators' must name some of {', '.join(SIMULATORS)}, "
                       f"not {simulators!r}")
    return {**options, "simulators": simulators}


def _rtl(config, simulators, wide):
    ran = cases(simulators, wide)
    failed = [f"{design}.{testcase} on {simulator}" for simulator, design, testcase in ran
              if not passes(config, simulator, design, testcase)]
    if failed:
        raise JobFailed(f"{len(failed)} of {len(ran)} tests failed: {', '.join(failed)}")
    return {"rtl_tests": len(ran)}


JOBS = {job.name: job for job in (
    Job("emit", _emit, {"lint": True}),
    Job("perf", _perf, {"workloads": ["deit_s"], "batch": 1}, _workloads),
    Job("energy", _energy, {"workloads": ["deit_s"], "node": 5.0, "vdd": 0.67, "host": "dram"},
        _check_energy),
    # Yosys on the whole accelerator takes a few GB.
    Job("synth", _synth, {"block": "array", "place_and_route": False}, _check_synth,
        memory=4 << 30),
    Job("accuracy", _accuracy, {"images": 360}, _check_accuracy),
    # simulators: null takes those SIM names (both when it is not set), as `make test` does
    Job("rtl", _rtl, {"simulators": None, "wide": True}, _check_rtl,
        memory=2 << 30),
)}
