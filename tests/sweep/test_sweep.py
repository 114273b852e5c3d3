"""The sweep runner end to end on a local Ray: a small sweep's table against the
performance model, a failing task recorded with a command that reproduces it while the
sweep goes on, a rerun that runs only what is new, and bad input refused in one line."""

import csv
import json
import os
import socket
import subprocess
import sys

import pytest

from vsq_accel.perf.__main__ import summarize
from vsq_accel.perf.model import Assumptions, cost_workload
from vsq_accel.perf.workloads import WORKLOADS
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.random_configs import SMALL_BUFFERS
from vsq_accel.sweep.__main__ import main


def sweep(tmp_path, spec, *options):
    """Run the sweep file `spec` into tmp_path/out; its exit status and outcomes."""
    path = tmp_path / "space.json"
    path.write_text(json.dumps(spec))
    status = main([str(path), "--out", str(tmp_path / "out"), *options])
    results = tmp_path / "out" / "sweep.json"
    return status, json.loads(results.read_text())["tasks"] if results.exists() else {}


def test_a_small_sweep_fills_its_table(tmp_path):
    """3 configurations x (perf, emit): every row holds the performance model's cycles
    for its configuration and the size of its lint-clean Verilog."""
    status, tasks = sweep(tmp_path, {"name": "three", "base": SMALL_BUFFERS,
                                     "grid": {"lanes": [1, 2, 4]},
                                     "jobs": {"perf": {}, "emit": {}}}, "--workers", "2")
    assert status == 0
    assert len(tasks) == 6 and {task["status"] for task in tasks.values()} == {"done"}
    with open(tmp_path / "out" / "sweep.csv") as file:
        rows = list(csv.DictReader(file))
    assert [int(row["lanes"]) for row in rows] == [1, 2, 4]
    for row in rows:
        config = AcceleratorConfig(lanes=int(row["lanes"]), **SMALL_BUFFERS)
        expected = summarize(cost_workload(WORKLOADS["deit_s"], config), config,
                             Assumptions())
        assert int(row["cycles_deit_s"]) == expected["cycles"]
        assert int(row["verilog_kib"]) > 0 and row["failed"] == ""
    # More lanes, fewer cycles: the table is not one configuration's three times.
    assert len({row["cycles_deit_s"] for row in rows}) == 3


def test_a_rerun_runs_only_what_is_new(tmp_path, capsys):
    spec = {"base": SMALL_BUFFERS, "grid": {"lanes": [1, 2]}, "jobs": {"perf": {}}}
    _, first = sweep(tmp_path, spec, "--workers", "1")
    spec["jobs"]["energy"] = {}
    capsys.readouterr()
    status, second = sweep(tmp_path, spec, "--workers", "1")
    assert status == 0
    assert "4 tasks, 2 done before, 2 to run" in capsys.readouterr().out
    for key, outcome in first.items():
        assert second[key] == outcome             # kept as it was, not run again
    assert sorted(task["job"] for task in second.values()) == ["energy"] * 2 + ["perf"] * 2


def test_a_failing_task_is_recorded_with_its_reproduction(tmp_path, monkeypatch, capsys):
    """The rtl job on a worker whose Icarus is broken (a stand-in that fails, first on
    PATH): the task fails with the tool's words in its log, the perf task beside it is
    done, and the command recorded for the failure fails the same way."""
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "iverilog").write_text("#!/bin/sh\necho 'iverilog: the Icarus of this worker "
                                    "is broken' >&2\nexit 3\n")
    (tools / "iverilog").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    status, tasks = sweep(tmp_path, {"base": SMALL_BUFFERS, "grid": {"lanes": [1]},
                                     "jobs": {"rtl": {"simulators": ["icarus"],
                                                      "wide": False}, "perf": {}}},
                          "--workers", "1")
    assert status == 1
    outcomes = {task["job"]: task for task in tasks.values()}
    assert outcomes["perf"]["status"] == "done"
    failure = outcomes["rtl"]
    assert failure["status"] == "failed" and "is broken" in failure["log"]
    assert f"reproduce: {failure['reproduce']}" in capsys.readouterr().err
    command = failure["reproduce"].split()
    assert command[:3] == ["python", "-m", "vsq_accel.sweep.task"]
    again = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True,
                           env=os.environ)
    assert again.returncode != 0 and "is broken" in again.stdout + again.stderr


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


BAD = {
    "malformed": ('{"jobs": {"perf": {}}', "not valid JSON"),
    "not_an_object": ("[1, 2]", "a sweep file is a JSON object"),
    "unknown_key": ({"grd": {"lanes": [1]}, "jobs": {"perf": {}}}, "unknown key 'grd'"),
    "no_jobs": ({"grid": {"lanes": [1]}}, "no \"jobs\""),
    "unknown_job": ({"grid": {"lanes": [1]}, "jobs": {"lint": {}}}, "unknown job 'lint'"),
    "unknown_option": ({"grid": {"lanes": [1]}, "jobs": {"perf": {"workload": "deit_s"}}},
                       "no option 'workload'"),
    "unknown_workload": ({"grid": {"lanes": [1]}, "jobs": {"perf": {"workloads": ["gpt"]}}},
                         "unknown workload 'gpt'"),
    "invalid_config_key": ({"grid": {"lane": [1, 2]}, "jobs": {"perf": {}}},
                           "grid key 'lane': unknown configuration key"),
    "invalid_value": ({"grid": {"vector_size": [16, 12]}, "jobs": {"perf": {}}},
                      "vector_size"),
    "empty_range": ({"grid": {"lanes": {"from": 8, "to": 4}}, "jobs": {"perf": {}}},
                    "the range of 'lanes' is empty"),
    "range_of_text": ({"grid": {"lanes": {"from": "1", "to": 4}}, "jobs": {"perf": {}}},
                      "needs integer"),
    "empty_list": ({"grid": {"lanes": []}, "jobs": {"perf": {}}}, "non-empty list"),
    "bad_count": ({"random": {"count": 0}, "jobs": {"perf": {}}}, "positive integer"),
}


@pytest.mark.parametrize("spec, words", BAD.values(), ids=BAD)
def test_bad_input_gets_one_line_and_status_2(tmp_path, capsys, spec, words):
    path = tmp_path / "space.json"
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    assert main([str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and words in err
    assert not (tmp_path / "out").exists()


def test_an_unreachable_cluster_gets_one_line_and_status_2(tmp_path, capsys):
    path = tmp_path / "space.json"
    path.write_text(json.dumps({"grid": {"lanes": [1]}, "jobs": {"perf": {}}}))
    port = _closed_port()
    assert main([str(path), "--address", f"127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: no Ray head answers at 127.0.0.1:{port}")
    assert err.count("\n") == 1
    assert main([str(path), "--address", "head-node"]) == 2
    assert "not a cluster address" in capsys.readouterr().err
