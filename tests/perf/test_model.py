"""The performance model on hand-computed cases, against the RTL's measured cycles, and
its command line."""

import dataclasses
import json
from pathlib import Path

import pytest

from vsq_accel.perf.__main__ import main
from vsq_accel.perf.dispatch import schedule
from vsq_accel.perf.lowering import lower
from vsq_accel.perf.model import (Assumptions, cost_workload, matmul_cycles, matmul_drain,
                                  softmax_cycles, softmax_drain)
from vsq_accel.perf.workloads import WORKLOADS, Group, Matmul, Workload, encoder_layer, with_batch
from vsq_accel.spec.commands import Buffer, End, Load, Output, Softmax, Store
from vsq_accel.spec.commands import Matmul as CommandMatmul
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.timing import array_latency

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def test_matmul_cycles_by_hand():
    config = AcceleratorConfig()                          # L = 16, V = 16
    # one tile, 4 slices of 16 cycles, plus the fill: 16 A vectors, the B register,
    # 4 lane stages and 2 accumulate stages
    assert matmul_cycles(16, 64, 16, config) == 4 * 16 + 23
    # 17 rows pad to two tile rows; 17 of K pads to two slices
    assert matmul_cycles(17, 17, 16, config) == 2 * 2 * 16 + 23
    assert matmul_cycles(16, 64, 16, config, fill=False) == 64
    assert matmul_cycles(16, 64, 16, AcceleratorConfig(lane_stages=2)) == 4 * 16 + 21
    # one lane: one accumulate stage (the entry comes back the next cycle)
    assert matmul_cycles(1, 16, 1, AcceleratorConfig(lanes=1)) == 1 + 1 + 1 + 4 + 1


def test_softmax_cycles_by_hand():
    config = AcceleratorConfig()                          # P = 16, reciprocal 16 bits
    # 300 rows of 8 beats, then the last row's beats and the 37-cycle latency
    assert softmax_cycles(300, 128, config) == 2400 + 8 + 37
    assert softmax_cycles(1, 1, config, Assumptions(softmax_latency=5)) == 1 + 1 + 5


def test_drains_by_hand():
    """The cycles from the array's last column (or the softmax's last beat) to the
    command's retirement, on the default configuration (L = V = 16): the column's
    register before the PPU and its 10 stages; the last write and the slot seen idle
    (2); between them the gather's register and the writer's 16 rows for y; the
    requantizer's scale stages (4), the bank's close (2), its readout (16), the element
    stages (6) and the group's registers (3) before the writer for operands; the row
    requantizer's 15 stages and its hand-over (4) for exponentials. The PPU takes a
    column a cycle (ppu_share=1; the default's, in two parts, below)."""
    config = AcceleratorConfig(ppu_share=1)
    assert matmul_drain(16, 16, 16, Output.ACC, config) == 1 + 2
    assert matmul_drain(16, 16, 16, Output.LOGITS, config) == 1 + 10 + 2
    assert matmul_drain(16, 16, 16, Output.Y, config) == 1 + 10 + 1 + 16 + 1
    assert matmul_drain(16, 16, 16, Output.OPERAND, config) == (
        1 + 10 + 4 + 2 + 16 + 6 + 3 + 16 + 1)
    # 18 columns in tiles of two slices: the last tile's 14 padding columns leave
    # before the drain ends ...
    assert matmul_drain(16, 32, 18, Output.Y, config) == 1 + 10 + 1 + 16 + 1 - 14
    # ... but in tiles of one slice its short vector closes a cycle after the one before
    # and waits 15 cycles for that one to be written ...
    assert matmul_drain(16, 16, 17, Output.Y, config) == 1 + 10 + 1 + 16 + 1 - 15 + 15
    # ... and, as an operand, 15 for the one before it to be read out
    assert matmul_drain(16, 16, 17, Output.OPERAND, config) == (
        1 + 10 + 4 + 2 + 16 + 6 + 3 + 16 + 1 - 15 + 15)
    assert matmul_drain(16, 16, 17, Output.LOGITS, config) == 1 + 10 + 2
    assert softmax_drain(300, 128, config) == 15 + 4
    # INT8 exponentials are two writes a vector: at P = V a row's second vector waits
    # for the first's, and 300 rows of 8 end 2400 cycles behind the beats
    config = AcceleratorConfig(formats=["int4_vsq", "int8"])
    assert softmax_drain(1, 16, config, "int8") == 15 + 4 + 1
    assert softmax_drain(1, 32, config, "int8") == 15 + 4 + 2
    assert softmax_drain(300, 128, config, "int8") == 15 + 4 + 2400


def test_a_shared_ppu_drains_by_hand():
    """The default's PPU, a column in two parts (L = V = 16): a tile's 16 columns leave
    the array on 16 cycles in a row (the last at 0), each reaches the PPU's queue a
    cycle later and its first part a cycle after that: the first column's at -13, and
    one part every cycle from then, the last column's last part at -13 + 31 = 18. Then
    the part's register, the 9 stages, the output queue's write and the retirement
    (2)."""
    config = AcceleratorConfig()
    assert config.ppu_parts == 2
    assert matmul_drain(16, 16, 16, Output.LOGITS, config) == 18 + 1 + 9 + 1 + 2
    # tiles of 4 slices: the first tile's columns are long done when the second's leave
    assert matmul_drain(16, 64, 32, Output.LOGITS, config) == 18 + 1 + 9 + 1 + 2
    # tiles of one slice: the second tile's columns find the queue full (9 columns) and
    # the array holds, so the PPU takes a part every cycle from the first column's at
    # -29 to the 32nd column's last at -29 + 63 = 34
    assert matmul_drain(16, 16, 32, Output.LOGITS, config) == 34 + 1 + 9 + 1 + 2
    # y: the last group's 16 writes behind the gather's register (1) end at 18 + 1 + 9
    # + 1 + 1 + 15, after the last column left the PPU
    assert matmul_drain(16, 16, 16, Output.Y, config) == 18 + 1 + 9 + 1 + 1 + 15 + 2


def test_the_controllers_schedule_by_hand():
    """`perf.dispatch`: a command starts DECODE_CYCLES after the previous one at the
    earliest, the cycle after its slot's previous command retired, and with `wait`
    the cycle after every earlier command retired; the counter stops the cycle after
    END's decision."""
    load, store = Load(buffer=Buffer.LEFT, count=1), Store(buffer=Buffer.OUTPUT, count=1)
    multiply = CommandMatmul(m=1, n=1, k=1, output=Output.Y, dest=Buffer.OUTPUT)
    # one command: fetch, latch, 4 cycles of check, decide (dispatch at cycle 6), 10
    # cycles, then END decides the cycle after the retirement and the counter reads one more
    assert schedule([load, End()], [10, 0]).cycles == 6 + 10 + 1 + 1
    # a LOAD beside a MATMUL: the second starts 7 cycles after the first
    both = schedule([load, multiply, End()], [10, 20, 0])
    assert both.dispatched == [6, 13] and both.cycles == 13 + 20 + 2
    # the same slot: the MATMUL waits for the other to retire
    chained = schedule([multiply, multiply, End()], [10, 20, 0])
    assert chained.dispatched == [6, 17] and chained.cycles == 17 + 20 + 2
    # a SOFTMAX beside a MATMUL (the softmax unit's slot and the array's)
    softmax = Softmax(rows=1, length=1, loop1=1, first=1, loop2=1, dest=Buffer.LEFT)
    assert schedule([softmax, multiply, End()], [10, 20, 0]).dispatched == [6, 13]
    # wait: the STORE waits for the longer MATMUL, though its slot is free
    waiting = schedule([multiply, load, dataclasses.replace(store, wait=1), End()],
                       [30, 5, 4, 0])
    # (END decides DECODE_CYCLES after the STORE's dispatch, which is after its retirement)
    assert waiting.dispatched == [6, 13, 37] and waiting.cycles == 37 + 7 + 1


def test_encoder_layer_macs_by_hand():
    """The layer as the compiler lowers it: per head Q, K and V^T, S and P V in blocks of
    L query rows (the last one partial), one softmax per block."""
    config = AcceleratorConfig()
    ops = lower(encoder_layer(tokens=120, hidden=768, heads=12, mlp=3072), config)
    macs = sum(op.macs for op in ops if isinstance(op, Matmul))
    assert macs == (120 * 768 * 2304 + 2 * 12 * 120 * 64 * 120 + 120 * 768 * 768
                    + 2 * 120 * 768 * 3072)
    shapes = {(op.name, op.m, op.k, op.n): op.count for op in ops if isinstance(op, Matmul)}
    assert shapes[("scores", 16, 64, 120)] == 12 * 7 and shapes[("scores", 8, 64, 120)] == 12
    assert shapes[("projection", 120, 768, 64)] == 12 * 2      # Q and K
    assert shapes[("projection", 64, 768, 120)] == 12          # V^T = Wv^T X^T
    softmax = [op for op in ops if not isinstance(op, Matmul)]
    assert [(op.rows, op.length) for op in softmax] == [(12 * 120, 120)]


def test_rows_longer_than_the_softmax_compute_s_once():
    """512 keys in blocks of 256: S of 512 x 64 x 512 MACs, in 32 blocks of queries x 2
    of keys, each a matmul of 16 x 64 x 256 with its own fill."""
    config = AcceleratorConfig(softmax_max_row=256)
    costs = {c.name: c for c in cost_workload(
        Workload("w", "", (Group("g", encoder_layer(512, 64, 1, 64)),)), config)}
    assert set(costs) >= {"scores", "P V"} and "scores, loop 1" not in costs
    assert costs["scores"].macs == 512 * 64 * 512
    fill = config.lanes + array_latency(config)
    assert costs["scores"].cycles == 32 * 2 * (16 * 4 * 16 + fill)


def test_the_model_matches_the_benchmarks_rtl_cycles():
    """The Verilator runs of `make bench` (default configuration) against the model: the
    array, the softmax unit, and whole DeiT-Small tiles with their drains."""
    config = AcceleratorConfig()
    array = json.loads((RESULTS / "mac_utilization.json").read_text())
    for suffix in ("", "_m197"):
        shape = array[f"m{suffix}"], array[f"k{suffix}"], array[f"n{suffix}"]
        assert array[f"cycles{suffix}"] == matmul_cycles(*shape, config)
    softmax = json.loads((RESULTS / "softmax.json").read_text())
    for length in (128, 197):
        assert softmax[f"cycles_row{length}"] == softmax_cycles(softmax["rows"], length, config)
    tiles = json.loads((RESULTS / "tiles.json").read_text())
    for tile in ("sa", "mhsa", "ffn", "sa_long"):
        for part in ("cycles", "cycles_loads_hidden"):
            assert tiles[f"{tile}_{part}"] == tiles[f"{tile}_{part}_model"], (tile, part)


def test_utilization_and_padding():
    config = AcceleratorConfig()
    aligned = Workload("a", "", (Group("g", (Matmul("m", 64, 64, 64),), repeat=3),))
    cost = cost_workload(aligned, config)[0]
    # 16 tiles of 4 slices of 16 cycles, plus the fill, three times
    assert cost.cycles == 3 * (16 * 4 * 16 + 23) and cost.macs == 3 * 64 ** 3
    assert cost.utilization == pytest.approx(64 ** 3 / ((16 * 4 * 16 + 23) * 256))
    deit = WORKLOADS["deit_s"]
    batched = with_batch(deit, 8)
    macs = sum(c.macs for c in cost_workload(deit, config))
    assert sum(c.macs for c in cost_workload(batched, config)) == 8 * macs


def test_softmax_hides_behind_attention_unless_it_is_longer():
    config = AcceleratorConfig()
    layer = Workload("l", "", (Group("g", encoder_layer(64, 64, 1, 64)),))
    hidden = {c.name: c.cycles for c in cost_workload(layer, config)}
    exposed = {c.name: c.cycles for c in cost_workload(
        layer, config, Assumptions(softmax_overlapped=False))}
    assert hidden["softmax"] == 0 and exposed["softmax"] == softmax_cycles(64, 64, config)


def test_command_line_writes_table_csv_json_and_plots(tmp_path, capsys):
    spec = {"name": "tiny", "groups": [
        {"name": "layer", "repeat": 2, "encoder": {"tokens": 20, "hidden": 32, "heads": 2,
                                                   "mlp": 64}}]}
    (tmp_path / "tiny.json").write_text(json.dumps(spec))
    assert main(["--workload-file", str(tmp_path / "tiny.json"), "--csv",
                 str(tmp_path / "t.csv"), "--json", str(tmp_path / "t.json"),
                 "--plot", str(tmp_path / "t.png"), "--sweep", str(tmp_path / "s.png")]) == 0
    assert "tiny" in capsys.readouterr().out
    assert json.loads((tmp_path / "t.json").read_text())["workloads"]["tiny"]["macs"] > 0
    assert (tmp_path / "t.csv").read_text().startswith("workload,group,name")
    assert (tmp_path / "t.png").stat().st_size > 0 and (tmp_path / "s.png").stat().st_size > 0


_ENCODER = {"tokens": 197, "hidden": 384, "heads": 6, "mlp": 1536}


@pytest.mark.parametrize("spec, message", [
    ({"name": "x", "groups": [{"name": "g", "encoder": dict(_ENCODER, tokens=-197)}]},
     "groups[0].encoder.tokens=-197 must be an integer of at least 1"),
    ({"name": "x", "groups": [{"name": "g", "encoder": dict(_ENCODER, heads=0)}]},
     "groups[0].encoder.heads=0 must be an integer of at least 1"),
    ({"name": "x", "groups": [{"name": "g", "encoder": dict(_ENCODER, heads=5)}]},
     "groups[0].encoder.heads=5 must divide hidden=384"),
    ({"name": "x", "groups": [{"name": "g", "encoder": dict(_ENCODER, mlp="1536")}]},
     'groups[0].encoder.mlp="1536" must be an integer of at least 1'),
    ({"name": "x", "groups": [{"name": "g", "repeat": 0, "encoder": _ENCODER}]},
     "groups[0].repeat=0 must be an integer of at least 1"),
    ({"name": "x", "groups": [{"name": "g", "matmuls": [{"name": "a", "m": -1, "k": 2,
                                                          "n": 3}]}]},
     "groups[0].matmuls[0].m=-1 must be an integer of at least 1"),
    ({"name": "x", "groups": []}, "groups must be a non-empty list"),
    ({"name": "x", "groups": [{"name": "g", "matmul": []}]},
     "groups[0].matmul is not a field here"),
    ({"name": "x", "groups": [{"name": "g"}]},
     "groups[0] needs an encoder, or matmuls and/or softmax rows"),
    ({"name": "x"}, "groups is missing"),
    ([1, 2], "the file must be a JSON object"),
])
def test_a_bad_workload_file_is_one_line_naming_the_field(tmp_path, capsys, spec, message):
    path = tmp_path / "w.json"
    path.write_text(json.dumps(spec))
    assert main(["--workload-file", str(path)]) == 2
    output = capsys.readouterr()
    assert output.err.startswith(f"error: {path}: {message}"), output.err
    assert output.err.count("\n") == 1 and not output.out


@pytest.mark.parametrize("options, message", [
    (["--clock-mhz", "nan"], "--clock-mhz nan: must be a positive number"),
    (["--clock-mhz", "inf"], "--clock-mhz inf: must be a positive number"),
    (["--batch", "0"], "--batch 0: must be at least 1"),
    (["--csv", "/proc/x.csv"], "--csv '/proc/x.csv' cannot be written"),
    (["--csv", "{tmp}"], "is a folder"),
    (["--json", "{tmp}/missing/x.json"], "which is not a folder"),
    (["--plot", "{tmp}/x.bmp"], "--plot '{tmp}/x.bmp' must end in .png, .pdf, .svg"),
    (["--config", ""], "--config is empty"),
])
def test_bad_options_stop_before_any_output(tmp_path, capsys, options, message):
    options = [option.format(tmp=tmp_path) for option in options]
    with pytest.raises(SystemExit) as stop:
        main(["--workload", "deit_s", *options])
    output = capsys.readouterr()
    assert stop.value.code == 2 and message.format(tmp=tmp_path) in output.err
    assert not output.out


def test_every_built_in_workload_prints(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in WORKLOADS)
