"""`make coverage`'s merge of Verilator's coverage.dat files (`sim/coverage.py`), on
files written here in Verilator's format, and the command set's bins
(`sim/command_coverage.py`)."""

import json

from vsq_accel.sim.command_coverage import FILE_NAME, Recorder, expected_bins
from vsq_accel.sim.coverage import block_names, blocks, main, merge
from vsq_accel.spec.commands import Buffer, Matmul, Op, Output
from vsq_accel.spec.host_interface import EngineError


def _point(file, line, kind, module, comment, count):
    fields = {"f": file, "l": str(line), "n": "3", "t": kind, "page": f"v_{kind}/{module}",
              "o": comment, "h": module}
    keys = "".join(f"\x01{key}\x02{value}" for key, value in fields.items())
    return f"C '{keys}' {count}\n"


def _write(path, points):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# SystemC::Coverage-3\n" + "".join(_point(*point) for point in points))


def test_counts_add_over_tests_and_instances_fold(tmp_path):
    verilog = tmp_path / "design" / "verilator-coverage" / "rtl" / "design.v"
    verilog.parent.mkdir(parents=True)
    verilog.write_text("module design;\n  assign a = b;\n  assign c = d ? e : f;\nendmodule\n")
    first, second = (tmp_path / "design" / "verilator-coverage" / name / "coverage.dat"
                     for name in ("one", "two"))
    _write(first, [(str(verilog), 2, "line", "design", "block", 1),
                   (str(verilog), 3, "branch", "design.lane0", "cond_then", 0),
                   (str(verilog), 3, "branch", "design.lane1", "cond_then", 0),
                   (str(verilog), 3, "toggle", "design", "a:0->1", 0)])
    _write(second, [(str(verilog), 3, "branch", "design.lane0", "cond_then", 2),
                    (str(verilog), 3, "toggle", "design", "a:0->1", 0)])
    merged = merge([first, second])
    assert sum(merged.values()) == 3
    table = blocks(merged)
    assert table["design"] == {"line": [1, 1], "branch": [0, 0], "toggle": [0, 1]}
    assert table["design.lane*"]["branch"] == [1, 2]

    results = tmp_path / "coverage.json"
    assert main([str(tmp_path), str(results)]) == 0
    assert json.loads(results.read_text())["tests"] == 2
    report = (tmp_path / "coverage" / "uncovered.md").read_text()
    assert "## design.lane*" in report
    assert "design:3 branch cond_then: assign c = d ? e : f;" in report


def test_numbered_siblings_fold_and_a_numbered_name_alone_stays():
    names = block_names({"\\top.array.lane0.mult", "top.array.lane12.mult", "top.exp2",
                         "top.queue"})
    assert names == {"\\top.array.lane0.mult": "top.array.lane*.mult",
                     "top.array.lane12.mult": "top.array.lane*.mult", "top.exp2": "top.exp2",
                     "top.queue": "top.queue"}


def test_the_command_set_bins_name_every_opcode_error_and_mode_the_compiler_emits():
    bins = expected_bins()
    assert {f"op {op.name}" for op in Op} <= bins
    assert {f"error {code.name}" for code in EngineError if code} <= bins
    assert {"MATMUL ACC accumulate rescale", "SOFTMAX loop1=1 first=0 loop2=1",
            "MATMUL reads ACC", "SOFTMAX reads STATE"} <= bins


def test_a_recorder_writes_the_bins_it_saw(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recorder = Recorder()
    recorder.command(Matmul(m=1, n=1, k=1, output=Output.Y, relu=1, dest=Buffer.OUTPUT))
    recorder.error(EngineError.BOUNDS)
    recorder.error(EngineError.NONE)
    assert json.loads((tmp_path / FILE_NAME).read_text()) == [
        "MATMUL Y relu", "MATMUL reads LEFT", "MATMUL reads PARAMS", "MATMUL reads RIGHT",
        "MATMUL writes OUTPUT", "error BOUNDS", "op MATMUL"]
