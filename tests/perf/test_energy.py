"""The energy model: events counted from commands by hand, the table's prices and their
scaling from first principles, and bad tables refused naming the entry."""

import json
import math

import pytest

from vsq_accel.perf.__main__ import main
from vsq_accel.perf.activity import command_activity, workload_activity
from vsq_accel.perf.energy import (TABLE_PATH, EnergyTable, EnergyTableError, energy_split,
                                   event_energies)
from vsq_accel.perf.workloads import WORKLOADS
from vsq_accel.spec.commands import Buffer, Load, Matmul, Output, Softmax, entry_bits
from vsq_accel.spec.config import AcceleratorConfig

CONFIG = AcceleratorConfig(lanes=4, formats=["int4_vsq", "int8"])       # V = 16


def test_a_matmuls_events_by_hand():
    """5 x 3 over 2 vectors on 4 lanes: 2 x 1 tiles, each 2 vectors of 4 A and 4 B
    entries, every B entry a pass of the 4 lanes; INT8 doubles the entries and passes
    but not the accumulations; the PPU takes each tile's 4 columns, the requantizer
    makes a vector for each of 2 x 4 lanes, the writer keeps 5 rows."""
    own = command_activity(Matmul(m=5, n=3, k=2, output=Output.Y, dest=Buffer.OUTPUT),
                           CONFIG)
    assert own == {"lane_passes.int4_vsq": 64, "accumulations.int4_vsq": 64,
                   "feeds.LEFT": 16, "feeds.RIGHT": 16, "reads.PARAMS": 3,
                   "ppu_columns": 8, "writes.OUTPUT": 5}
    int8 = command_activity(Matmul(m=5, n=3, k=2, output=Output.OPERAND, dest=Buffer.LEFT,
                                   format=1, out_format=1), CONFIG)
    assert (int8["lane_passes.int8"], int8["accumulations.int8"], int8["feeds.LEFT"]) == (
        128, 64, 32)
    assert int8["requant_vectors.int8"] == 8 and int8["writes.LEFT"] == 10


def test_a_softmax_and_a_loads_events_by_hand():
    softmax = command_activity(Softmax(rows=4, length=20, loop1=1, loop2=1, first=1,
                                       dest=Buffer.LEFT, format=1), CONFIG)
    assert softmax == {"softmax_beats": 4 * 5, "softmax_rows": 4, "reads.SCORES": 4,
                       "writes.STATE": 4, "exp_vectors.int8": 8, "writes.LEFT": 16}
    load = command_activity(Load(buffer=Buffer.RIGHT, base=0, count=10), CONFIG)
    # an entry of 16 x 4 bits and an 8-bit scale: two 64-bit beats
    assert entry_bits(CONFIG, Buffer.RIGHT) == 72
    assert load == {"host_beats": 20, "writes.RIGHT": 10}


def test_the_tables_prices_and_their_scaling():
    """At the table's own node and voltage the primitives are Horowitz's figures; other
    nodes scale by Stillmaker and Baas's a V^2 + b V + c, below 7 nm by sqrt(node / 7)."""
    table = EnergyTable.load()
    assert table.factor(45, 0.9) == 1.0

    def factor(a, b, c, vdd):
        return a * vdd ** 2 + b * vdd + c

    at_45 = factor(1.103, -0.362, 0.2767, 0.9)
    assert math.isclose(table.factor(7, 0.67), factor(0.1776, -0.09097, 0.02447, 0.67) / at_45)
    assert math.isclose(table.factor(5, 0.67), table.factor(7, 0.67) * math.sqrt(5 / 7))
    energies = event_energies(table, CONFIG, 45, 0.9)
    # the host's beats of 64 bits from DRAM: 1.95 nJ
    assert math.isclose(energies["host_beats"], 1950)
    # 34 kinds of event: 4 per format, 3 per buffer (7), the PPU's 2, the softmax's 2, the host
    assert len(energies) == 4 * 2 + 3 * 7 + 2 + 2 + 1


def test_int8_costs_more_energy_than_int4_vsq():
    """On one multi-format array, BERT-Base's inference in INT8 runs twice the lane passes
    and moves about twice the bits: it costs more, though less than 3x."""
    config = AcceleratorConfig(formats=["int4_vsq", "int8"])
    energies = event_energies(EnergyTable.load(), config, 5, 0.67)
    totals = {format: sum(energy_split(workload_activity(WORKLOADS["bert_base_128"], config,
                                                         format), energies).values())
              for format in ("int4_vsq", "int8")}
    assert 1.5 < totals["int8"] / totals["int4_vsq"] < 3


@pytest.mark.parametrize("change, named", [
    (lambda spec: spec["actions"].pop("mult_8x8"), "action 'mult_8x8' is missing"),
    (lambda spec: spec["actions"]["add_8b"].update(pj=-1), "action 'add_8b': -1 must be"),
    (lambda spec: spec["actions"]["dram_64b"].update(pj="nan"), "action 'dram_64b': 'nan'"),
    (lambda spec: spec.update(node_nm=28), "node_nm 28 has no energy_scaling entry"),
])
def test_a_bad_table_is_one_line_naming_the_entry(tmp_path, capsys, change, named):
    spec = json.loads(TABLE_PATH.read_text())
    change(spec)
    path = tmp_path / "table.json"
    path.write_text(json.dumps(spec))
    with pytest.raises(EnergyTableError, match=named):
        EnergyTable.load(path)
    assert main(["--workload", "deit_s", "--energy", "--energy-table", str(path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and named in error and "\n" not in error


def test_an_unknown_node_or_voltage_is_refused(capsys):
    for option in (["--node", "0.5"], ["--node", "300"], ["--vdd", "5"]):
        assert main(["--workload", "deit_s", "--energy", *option]) == 2
        assert capsys.readouterr().err.count("\n") == 1


def test_the_energy_report(tmp_path, capsys):
    plot = tmp_path / "energy.png"
    assert main(["--workload", "deit_s", "--energy", "--energy-plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "energy per inference at 5 nm, 0.67 V" in out and "TOPS/W" in out
    assert plot.stat().st_size > 0
