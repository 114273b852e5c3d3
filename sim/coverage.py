"""`make coverage`: Verilator's line, branch and toggle coverage of the suite's RTL runs,
merged and reported per hardware block.

The suite's Verilator tests run with RTL_COVERAGE=1 (`sim/runner.py` builds the models
with coverage, in sim_build/<design>/verilator-coverage/); each test leaves a
coverage.dat (Verilator's SystemC::Coverage-3 text). This merges them: a point's count
is the sum over the tests that ran its build. A block is a Verilog module (one per
Amaranth elaboratable, named by its place in the design: `requantizer.queue`), with
numbered siblings (`lane0`, `lane1`, ...) counted together as `lane*`; each build
(design x configuration) counts its own points. The command set's functional coverage
(`sim/command_coverage.py`) is merged from the same tests. Writes results/coverage.json
(the tables) and sim_build/coverage/uncovered.md (every line and branch never taken,
with its Verilog).

    python -m vsq_accel.sim.coverage [SIM_BUILD] [RESULTS_JSON]
"""

import collections
import json
import re
import sys
from pathlib import Path

from vsq_accel.sim.command_coverage import FILE_NAME, expected_bins

__all__ = ["read_points", "merge", "block_names", "blocks", "main"]

_ROOT = Path(__file__).resolve().parent.parent
KINDS = ("line", "branch", "toggle")
_POINT = re.compile(r"^C '(.*)' (\d+)$")
_NUMBERED = re.compile(r"^(.*[A-Za-z_])\d+$")


def read_points(path):
    """{point: count} of one coverage.dat; a point is (file, line, column, kind,
    module, comment), the module being the Verilog module's hierarchical name."""
    points = {}
    with open(path, encoding="latin-1") as lines:
        for line in lines:
            match = _POINT.match(line.rstrip("\n"))
            if not match:
                continue
            fields = dict(item.split("\x02", 1) for item in match.group(1).split("\x01")[1:])
            kind = fields["page"].split("/", 1)[0].removeprefix("v_")
            key = (fields["f"], int(fields["l"]), fields.get("n", ""), kind, fields["h"],
                   fields.get("o", ""))
            points[key] = points.get(key, 0) + int(match.group(2))
    return points


def merge(paths):
    """The counts of every point over several coverage.dat files, summed."""
    merged = collections.Counter()
    for path in paths:
        merged.update(read_points(path))
    return merged


def block_names(modules):
    """{Verilog module: its block}: the hierarchical name, with the number of an instance
    that has numbered siblings (`lane0`, `lane1`) folded to `*` (`exp2` alone stays)."""
    paths = {module: module.lstrip("\\").split(".") for module in modules}
    numbered = collections.defaultdict(set)
    for path in paths.values():
        for depth, segment in enumerate(path):
            match = _NUMBERED.match(segment)
            if match:
                numbered[(tuple(path[:depth]), match.group(1))].add(segment)
    names = {}
    for module, path in paths.items():
        folded = []
        for depth, segment in enumerate(path):
            match = _NUMBERED.match(segment)
            siblings = match and numbered[(tuple(path[:depth]), match.group(1))]
            folded.append(f"{match.group(1)}*" if siblings and len(siblings) > 1 else segment)
        names[module] = ".".join(folded)
    return names


def blocks(points):
    """{block: {kind: [hit, total]}} over the merged points."""
    names = block_names({point[4] for point in points})
    table = collections.defaultdict(lambda: {kind: [0, 0] for kind in KINDS})
    for (_, _, _, kind, module, _), count in points.items():
        if kind in KINDS:
            entry = table[names[module]][kind]
            entry[0] += count > 0
            entry[1] += 1
    return dict(sorted(table.items()))


def uncovered(points):
    """Markdown: per block, every line and branch point never taken, with its Verilog."""
    sources = {}
    names = block_names({point[4] for point in points})
    missed = collections.defaultdict(set)
    for (file, line, _, kind, module, comment), count in points.items():
        if kind in ("line", "branch") and count == 0:
            missed[names[module]].add((file, line, kind, comment))
    out = ["# Lines and branches never taken", ""]
    for block, entries in sorted(missed.items()):
        out += [f"## {block}", "", "```"]
        for file, line, kind, comment in sorted(entries):
            if file not in sources:
                path = Path(file)
                sources[file] = path.read_text().splitlines() if path.exists() else []
            text = sources[file][line - 1].strip() if line <= len(sources[file]) else ""
            design = Path(file).parents[2].name
            selector = _case_selector(sources[file], line) if comment == "case" else None
            out.append(f"{design}:{line} {kind} {comment}: {text}"
                       + (f" of {selector}" if selector else ""))
        out += ["```", ""]
    return "\n".join(out)


def _case_selector(lines, line):
    """The `casez (...)` an arm at `line` (1-based) belongs to: the nearest one above,
    indented less than the arm."""
    arm = lines[line - 1]
    indent = len(arm) - len(arm.lstrip())
    for text in reversed(lines[:line - 1]):
        stripped = text.lstrip()
        if stripped.startswith("casez") and len(text) - len(stripped) < indent:
            return stripped
    return None


def command_coverage(paths):
    """The command set's bins (`sim.command_coverage`) the accelerator's tests hit."""
    hit = set()
    for path in paths:
        hit |= set(json.loads(Path(path).read_text()))
    expected = expected_bins()
    return {"bins": len(expected), "hit": len(expected & hit),
            "not_hit": sorted(expected - hit), "beyond_the_compiler": sorted(hit - expected)}


def main(args):
    build_root = Path(args[0]) if args else _ROOT / "sim_build"
    results = Path(args[1]) if len(args) > 1 else _ROOT / "bench" / "results" / "coverage.json"
    files = sorted(build_root.glob("*/verilator-coverage/*/coverage.dat"))
    if not files:
        print(f"no coverage.dat under {build_root}: run `make coverage`", file=sys.stderr)
        return 1
    points = merge(files)
    table = blocks(points)
    builds = sorted({path.parents[2].name for path in files})
    commands = command_coverage(build_root.glob(f"*/verilator-coverage/*/{FILE_NAME}"))
    results.write_text(json.dumps({"tests": len(files), "builds": builds, "blocks": table,
                                   "commands": commands}, indent=2) + "\n")
    report = build_root / "coverage" / "uncovered.md"
    report.parent.mkdir(exist_ok=True)
    report.write_text(uncovered(points))
    width = max(len(block) for block in table)
    print(f"{len(files)} tests, {len(builds)} builds; lines, branches, toggles hit")
    for block, kinds in table.items():
        cells = "  ".join(f"{kind} {hit / total:6.1%}" if total else f"{kind}    -  "
                          for kind, (hit, total) in kinds.items())
        print(f"  {block:{width}}  {cells}")
    print(f"command set: {commands['hit']} of {commands['bins']} bins; not hit: "
          f"{', '.join(commands['not_hit']) or 'none'}")
    print(f"written: {results}, {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
