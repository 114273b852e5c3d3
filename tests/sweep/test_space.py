"""Sweep files: which configurations a grid and a random draw give, and the Pareto
front, on points whose front is known by inspection."""

import json
from pathlib import Path

import pytest

from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.random_configs import drawn
from vsq_accel.sweep.pareto import front, plot_pareto
from vsq_accel.sweep.space import load_space


def space(tmp_path, spec, **overrides):
    path = tmp_path / "space.json"
    path.write_text(json.dumps(spec))
    return load_space(path, **overrides)


def test_a_grid_is_every_valid_combination_in_order(tmp_path):
    """scale_bits 2 allows scale products of at most 4 bits: (2, 16) is refused and
    counted; the rest come in the grid's order, over the base."""
    swept = space(tmp_path, {"base": {"scale_product_bits": 4, "lanes": 2, "acc_bits": 32},
                             "grid": {"scale_bits": [2, 8],
                                      "scale_product_bits": {"from": 4, "to": 16, "step": 12}},
                             "jobs": {"perf": {}}})
    assert [(c.scale_bits, c.scale_product_bits) for c in swept.configs] == [(2, 4), (8, 4),
                                                                              (8, 16)]
    assert {c.lanes for c in swept.configs} == {2}
    assert swept.refused == 1 and "scale_product_bits" in swept.first_refusal
    assert swept.name == "space" and swept.jobs == {"perf": {"workloads": ["deit_s"],
                                                             "batch": 1}}


def test_a_random_draw_is_the_seeds_and_can_be_replaced(tmp_path):
    spec = {"random": {"count": 3, "seed": 5, "wide": True}, "jobs": {"emit": {}}}
    assert list(space(tmp_path, spec).configs) == drawn(5, 3, wide=True)
    assert list(space(tmp_path, spec, count=2, seed=9).configs) == drawn(9, 2, wide=True)


def test_the_rtl_job_takes_the_simulators_sim_names(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM", "verilator")
    swept = space(tmp_path, {"grid": {"lanes": [1]}, "jobs": {"rtl": {}}})
    assert swept.jobs["rtl"]["simulators"] == ["verilator"]


ROWS = [{"config": "a", "luts_array": 1, "cycles_w": 10, "top1_m": 0.90},
        {"config": "b", "luts_array": 2, "cycles_w": 5, "top1_m": 0.90},
        {"config": "c", "luts_array": 2, "cycles_w": 12, "top1_m": 0.95},
        {"config": "d", "luts_array": 3, "cycles_w": 6, "top1_m": 0.80},
        {"config": "e", "luts_array": 4, "cycles_w": "", "top1_m": 0.99}]


def test_the_front_is_what_nothing_beats():
    """On area and cycles, a and b; c joins for its accuracy; d is beaten by b on all
    three; e has no cycles (its perf task failed) and is on no front."""
    names = [row["config"] for row in front(ROWS, {"luts_array": False, "cycles_w": False})]
    assert names == ["a", "b"]
    names = [row["config"] for row in front(ROWS, {"luts_array": False, "cycles_w": False,
                                                   "top1_m": True})]
    assert names == ["a", "b", "c"]


def test_the_plot_needs_area_and_cycles(tmp_path):
    assert plot_pareto(ROWS, tmp_path / "p.png", "five")
    assert (tmp_path / "p.png").stat().st_size > 10_000
    assert not plot_pareto([{"config": "a", "cycles_w": 1}], tmp_path / "q.png", "one")
    assert not (tmp_path / "q.png").exists()


@pytest.mark.parametrize("key", ["lanes", "vector_size", "scale_bits"])
def test_the_deit_s_space_sweeps_its_keys(key):
    swept = load_space(Path(__file__).resolve().parents[2] / "configs" / "sweeps" / "deit_s.json")
    assert len({getattr(config, key) for config in swept.configs}) > 1
    assert all(isinstance(config, AcceleratorConfig) for config in swept.configs)
