"""Verilog emission: the command line, its output folder, its errors, and lint."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vsq_accel.rtl_gen.__main__ import main
from vsq_accel.rtl_gen.designs import EMITTED
from vsq_accel.rtl_gen.emit import emit
from vsq_accel.rtl_gen.verilator import lint
from vsq_accel.spec.config import BUFFER_SIZE_KEYS, AcceleratorConfig

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
LINTED = {"default": AcceleratorConfig(),
          **{path.stem: AcceleratorConfig.load(path) for path in CONFIG_DIR.glob("*.json")}}


def test_command_line_emits_verilog_config_and_summary(tmp_path, capsys):
    config = AcceleratorConfig(lanes=2, vector_size=8, **{key: 64 for key in BUFFER_SIZE_KEYS})
    config.save(tmp_path / "mine.json")
    out = tmp_path / "out"
    assert main(["--config", str(tmp_path / "mine.json"), "--out", str(out)]) == 0
    assert "module vsq_mac_array" in (out / "vsq_mac_array.v").read_text()
    assert AcceleratorConfig.load(out / "config.json") == config
    summary = (out / "summary.md").read_text()
    assert "MACs per cycle: 16" in summary and "| c__payload | out | 48 |" in summary
    assert f"2 lanes x 8: wrote {out}/vsq_mac_array.v" in capsys.readouterr().out


def test_an_output_folder_that_cannot_be_one_is_one_clear_line(tmp_path, capsys):
    (tmp_path / "f").touch()
    for out in ("", str(tmp_path / "f")):
        with pytest.raises(SystemExit) as stop:
            main(["--out", out])
        assert stop.value.code == 2
    assert "--out is empty" in capsys.readouterr().err
    assert main(["--out", str(tmp_path / "f" / "sub")]) == 2
    assert capsys.readouterr().err == (f"error: cannot write into --out {tmp_path}/f/sub: "
                                       "Not a directory\n")


def test_an_interrupted_emission_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    """Everything is written aside and moved in at the end: a run stopped halfway
    leaves the earlier configuration whole, and files the generator does not write
    stay."""
    out = tmp_path / "out"
    emit(AcceleratorConfig(lanes=2, vector_size=8), out, designs=("corner_turn",))
    (out / "notes.txt").write_text("mine")
    before = {path.name: path.read_text() for path in out.iterdir()}

    def stopped(config, name):
        raise KeyboardInterrupt

    monkeypatch.setattr("vsq_accel.rtl_gen.emit._converted", stopped)
    with pytest.raises(KeyboardInterrupt):
        emit(AcceleratorConfig(lanes=3, vector_size=8), out, designs=("corner_turn",))
    assert {path.name: path.read_text() for path in out.iterdir()} == before


@pytest.mark.parametrize("text, message", [
    ('{"lanes": 100}', "error: .*lanes=100 is out of range"),
    ('{"vector_size": 24}', "error: .*vector_size=24 is not allowed"),
    ('{"lanes": 4, "bogus": 1}', "error: .*unknown configuration key"),
])
def test_bad_configuration_is_one_clear_line(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    result = subprocess.run([sys.executable, "-m", "vsq_accel.rtl_gen", "--config", str(path),
                             "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert re.match(message, result.stderr)
    assert not (tmp_path / "out").exists(), "nothing is emitted from a bad configuration"


@pytest.mark.parametrize("name", LINTED)
def test_emitted_verilog_is_lint_clean(tmp_path, name):
    """Every design on every configuration file, the tile engine on the default one
    (converting it takes up to a minute a configuration; `make lint` lints it on all,
    and the random configurations' Verilator builds stop on Verilator's default
    warnings)."""
    designs = [design for design in EMITTED if name == "default" or design != "accelerator"]
    for source in emit(LINTED[name], tmp_path, designs=designs):
        clean, report = lint(source, source.stem)
        assert clean, report


def test_emitted_config_matches_the_one_given(tmp_path):
    config = LINTED["int8_l4"]
    emit(config, tmp_path, designs=["corner_turn"])     # the smallest design: quicker
    assert json.loads((tmp_path / "config.json").read_text()) == config.to_dict()


def test_every_testbench_module_belongs_to_a_design_and_every_test_is_collected():
    from vsq_accel.rtl_gen.designs import DESIGNS, cocotb_tests

    sim_dir = Path(__file__).resolve().parents[2] / "sim"
    modules = {f"vsq_accel.sim.{path.stem}" for path in sim_dir.glob("*_tests.py")}
    assert modules == {design.tests for design in DESIGNS if design.tests}
    for module in modules:
        source = (sim_dir / f"{module.rsplit('.', 1)[1]}.py").read_text()
        assert len(cocotb_tests(module)) == source.count("@cocotb.test(") > 0
