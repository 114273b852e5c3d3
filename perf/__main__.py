"""Command line of the performance model.

    python -m vsq_accel.perf [--workload NAME | --workload-file FILE.json] [--config FILE.json]
                   [--batch B] [--clock-mhz F] [--csv FILE] [--json FILE]
                   [--plot FILE.png] [--sweep FILE.png]
                   [--energy [--node NM] [--vdd V] [--host dram|on-chip]
                    [--energy-table FILE.json] [--energy-plot FILE.png]]

Without a workload it prints every built-in one. --plot draws cycles per operation kind
and their utilization for one workload; --sweep draws utilization and inference time
against lanes and vector size for it. --energy adds the energy per inference in every
format the configuration runs, its split by component, TOPS/W and inferences/s/W
(`perf.energy`), and --energy-plot draws the split as stacked bars.
"""

import argparse
import csv
import dataclasses
import json
import math
import sys
from pathlib import Path

from vsq_accel.perf.energy import TABLE_PATH, EnergyTable, EnergyTableError
from vsq_accel.perf.energy_report import energy_point, plot_energy, print_energy
from vsq_accel.perf.lowering import lower
from vsq_accel.perf.model import Assumptions, bits_per_element, cost_workload
from vsq_accel.perf.workloads import WORKLOADS, WorkloadError, load_workload, with_batch
from vsq_accel.spec.config import AcceleratorConfig


def summarize(costs, config, assumptions):
    macs = sum(cost.macs for cost in costs)
    cycles = sum(cost.cycles for cost in costs)
    return {"macs": macs, "cycles": cycles,
            "utilization": macs / (cycles * config.macs_per_cycle) if cycles else 0.0,
            "inferences_per_s": assumptions.clock_mhz * 1e6 / cycles if cycles else 0.0,
            "operand_bytes": sum(cost.operand_bytes for cost in costs),
            "output_bytes": sum(cost.output_bytes for cost in costs)}


def print_table(workload, costs, config, assumptions):
    total = summarize(costs, config, assumptions)
    print(f"\n{workload.name}: {workload.description}")
    print(f"  on {config.format_name}, {config.lanes} lanes x {config.vector_size}, "
          f"softmax P = {config.softmax_lanes}, {assumptions.clock_mhz:g} MHz")
    print(f"  {'group':<28} {'operation':<18} {'MACs':>10} {'cycles':>11} {'util':>6} "
          f"{'operands':>10} {'outputs':>10}")
    for cost in costs:
        # A softmax that runs behind the attention matmuls costs no cycles of its own.
        util = "hidden" if not cost.cycles else f"{cost.utilization:.1%}"
        print(f"  {cost.group:<28} {cost.name:<18} {cost.macs:>10.3g} {cost.cycles:>11} "
              f"{util:>6} {cost.operand_bytes:>10.3g} {cost.output_bytes:>10.3g}")
    print(f"  total: {total['macs']:.4g} MACs, {total['cycles']} cycles, utilization "
          f"{total['utilization']:.2%}, {total['inferences_per_s']:.4g} inferences/s")
    matmuls = [op for group in workload.groups for op in lower(group.ops, config)
               if hasattr(op, "k")]
    bits = bits_per_element(config)
    a_block = config.lanes * max(op.k for op in matmuls) * bits / 8
    weights = max(op.k * op.n for op in matmuls if not op.attention) * bits / 8
    print(f"  buffers: collector {config.lanes ** 2 * config.acc_bits / 8:g} B, largest A row "
          f"block (L x K) {a_block:g} B, largest weight matrix {weights:.4g} B")


def plot_workload(workload, costs, config, path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    kinds = {}
    for cost in costs:
        cycles, macs = kinds.get(cost.name, (0, 0))
        kinds[cost.name] = (cycles + cost.cycles, macs + cost.macs)
    names = list(kinds)
    figure, (left, right) = pyplot.subplots(1, 2, figsize=(11, 4))
    left.barh(names, [kinds[name][0] for name in names])
    left.set_xlabel("cycles")
    left.set_title(f"{workload.name}: time per operation")
    right.barh(names, [kinds[name][1] / (kinds[name][0] * config.macs_per_cycle)
                       if kinds[name][0] and kinds[name][1] else 0 for name in names])
    right.set_xlim(0, 1)
    right.set_xlabel("MAC utilization")
    right.set_title(f"{config.lanes} lanes x {config.vector_size}")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def plot_sweep(workload, config, assumptions, path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    lanes_choices = (4, 8, 16, 32, 64)
    figure, (left, right) = pyplot.subplots(1, 2, figsize=(11, 4))
    for size in (8, 16, 32, 64):
        points = []
        for lanes in lanes_choices:
            # A wide accumulator fits every vector size; utilization does not depend on it.
            variant = dataclasses.replace(config, lanes=lanes, vector_size=size, acc_bits=40)
            points.append(summarize(cost_workload(workload, variant, assumptions), variant,
                                    assumptions))
        left.plot(lanes_choices, [p["utilization"] for p in points], marker="o",
                  label=f"V = {size}")
        right.plot(lanes_choices, [p["cycles"] / assumptions.clock_mhz for p in points],
                   marker="o", label=f"V = {size}")
    for axes in (left, right):
        axes.set_xscale("log", base=2)
        axes.set_xlabel("lanes L")
        axes.legend()
    left.set_ylabel("MAC utilization")
    right.set_ylabel(f"time per inference (us at {assumptions.clock_mhz:g} MHz)")
    right.set_yscale("log")
    figure.suptitle(f"{workload.name}: lanes x vector size")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


# Figure formats matplotlib writes without extra packages.
PLOT_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg")


def output_problem(path, formats=None):
    """Why `path` cannot be written as an output file (None when it can): checked
    before the model runs, so a bad path stops the command before any output."""
    if not path.strip():
        return "is empty"
    target = Path(path)
    if formats and target.suffix.lower().lstrip(".") not in formats:
        return f"must end in {', '.join('.' + name for name in formats)}"
    if target.is_dir():
        return "is a folder"
    folder = target.parent
    if not folder.is_dir():
        return f"is in {folder}, which is not a folder"
    existed = target.exists()
    try:
        open(target, "a").close()
    except OSError as error:
        return f"cannot be written: {error.strerror}"
    if not existed:
        target.unlink()
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m vsq_accel.perf",
                                     description=__doc__.split("\n")[0])
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--workload", choices=sorted(WORKLOADS),
                        help="one built-in workload (default: all of them)")
    chosen.add_argument("--workload-file", metavar="FILE",
                        help="a workload described in JSON (see perf.workloads.load_workload)")
    parser.add_argument("--config", metavar="FILE",
                        help="accelerator configuration JSON (default: the built-in default)")
    parser.add_argument("--batch", type=int, default=1,
                        help="inferences per run, at least 1 (default: %(default)s)")
    parser.add_argument("--clock-mhz", type=float, default=Assumptions.clock_mhz,
                        help="clock for inferences per second (default: %(default)s)")
    parser.add_argument("--csv", metavar="FILE", help="write every operation's cost as CSV")
    parser.add_argument("--json", metavar="FILE", help="write the costs and totals as JSON")
    parser.add_argument("--plot", metavar="FILE",
                        help="draw cycles and utilization per operation kind (.png, .pdf, "
                        ".svg, .jpg); needs one workload")
    parser.add_argument("--sweep", metavar="FILE",
                        help="draw utilization and time against lanes and vector size; "
                        "needs one workload")
    energy = parser.add_argument_group("energy")
    energy.add_argument("--energy", action="store_true",
                        help="energy per inference in each format the array runs")
    energy.add_argument("--node", type=float, default=5.0,
                        help="technology node in nm (default: %(default)s, NVIDIA's chip)")
    energy.add_argument("--vdd", type=float, default=0.67,
                        help="supply voltage (default: %(default)s V)")
    energy.add_argument("--host", choices=("dram", "on-chip"), default="dram",
                        help="where the host's data comes from (default: %(default)s)")
    energy.add_argument("--energy-table", metavar="FILE", default=str(TABLE_PATH),
                        help="energies per action (default: perf/energy_45nm.json)")
    energy.add_argument("--energy-plot", metavar="FILE",
                        help="draw the energy split as stacked bars (.png, .pdf, .svg, .jpg)")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error(f"--batch {args.batch}: must be at least 1")
    if not (math.isfinite(args.clock_mhz) and args.clock_mhz > 0):
        parser.error(f"--clock-mhz {args.clock_mhz:g}: must be a positive number")
    for option, formats in (("csv", None), ("json", None), ("plot", PLOT_FORMATS),
                            ("sweep", PLOT_FORMATS), ("energy_plot", PLOT_FORMATS)):
        path = getattr(args, option)
        problem = None if path is None else output_problem(path, formats)
        if problem:
            parser.error(f"--{option.replace('_', '-')} {path!r} {problem}")
    table = None
    if args.energy or args.energy_plot:
        try:
            table = EnergyTable.load(args.energy_table)
            table.factor(args.node, args.vdd)
        except EnergyTableError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    try:
        config = AcceleratorConfig.load_for_command_line(args.config)
        if args.workload_file:
            workloads = [load_workload(args.workload_file)]
        else:
            workloads = [WORKLOADS[args.workload]] if args.workload else list(WORKLOADS.values())
    except WorkloadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if (args.plot or args.sweep) and len(workloads) != 1:
        parser.error("--plot and --sweep need one workload (--workload or --workload-file)")
    assumptions = Assumptions(clock_mhz=args.clock_mhz)
    rows, summaries, points = [], {}, []
    for workload in workloads:
        workload = with_batch(workload, args.batch)
        costs = cost_workload(workload, config, assumptions)
        print_table(workload, costs, config, assumptions)
        rows += [{"workload": workload.name, **dataclasses.asdict(cost)} for cost in costs]
        summaries[workload.name] = summarize(costs, config, assumptions)
        if args.plot:
            plot_workload(workload, costs, config, args.plot)
        if args.sweep:
            plot_sweep(workload, config, assumptions, args.sweep)
        if table is not None:
            points += [energy_point(workload, config, format, table, args.node, args.vdd,
                                    assumptions, args.host)
                       for format in config.supported_formats]
    if points:
        print_energy(points, args.node, args.vdd, args.clock_mhz, args.host)
        for point in points:
            summaries[point.workload][f"energy_uj_{point.format}"] = point.picojoules / 1e6
            summaries[point.workload][f"tops_per_w_{point.format}"] = point.tops_per_w()
    if args.energy_plot:
        plot_energy(points, args.energy_plot, f"{args.node:g} nm, {args.vdd:g} V")
    if args.csv:
        with open(args.csv, "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"config": config.to_dict(), "workloads": summaries, "operations": rows},
                      out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
