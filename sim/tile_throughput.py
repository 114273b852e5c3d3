"""cocotb test behind `make bench tiles`: SA, MHSA and FFN at DeiT-Small shapes on the
accelerator in Verilator, the cycles of every command stamped (dispatch to retirement)
and the output checked against the golden tile program. Writes its figures as JSON to
BENCH_OUT; the tile comes from BENCH_TILE."""

import json
import os

import cocotb
import numpy as np

from golden.commands import Load, Matmul, Softmax, Store
from golden.compiler import COMPILERS
from golden.tile_program import TILES, Trace, calibrate
from golden.tile_weights import random_attention_head, random_feed_forward, random_multi_head
from perf.model import controller_cycles, matmul_cycles, softmax_cycles
from sim.accelerator_harness import AcceleratorHarness
from sim.testbench import config_from_env

SEED = 20261201
# DeiT-Small: tokens, model width, heads (64 channels each), FFN width.
TOKENS, D_MODEL, HEADS, D_FF = 197, 384, 6, 1536


def deit_small(tile, rng):
    x = rng.normal(size=(TOKENS, D_MODEL))
    dk = D_MODEL // HEADS
    weights = {"sa": lambda: random_attention_head(rng, D_MODEL, dk),
               "mhsa": lambda: random_multi_head(rng, D_MODEL, HEADS, dk),
               "ffn": lambda: random_feed_forward(rng, D_MODEL, D_FF)}[tile]()
    return x, weights


def command_figures(commands, spans, config):
    """MACs, measured cycles by kind and the model's cycles for the same commands."""
    macs = measured_compute = measured_host = model = 0
    for command, (start, stop) in zip(commands, spans):
        cycles = stop - start
        if isinstance(command, Matmul):
            reduction = command.trace["reduction"]
            macs += command.m * reduction * command.n
            model += matmul_cycles(command.m, reduction, command.n, config)
            measured_compute += cycles
        elif isinstance(command, Softmax):
            model += softmax_cycles(command.rows, command.length, config)
            measured_compute += cycles
        elif isinstance(command, (Load, Store)):
            measured_host += cycles
    return macs, measured_compute, measured_host, model


@cocotb.test()
async def tile_cycles(dut):
    config = config_from_env()
    tile = os.environ["BENCH_TILE"]
    harness = AcceleratorHarness(dut, config, SEED)
    await harness.reset(check=False)
    rng = np.random.default_rng(SEED)
    x, weights = deit_small(tile, rng)
    _, _, calibration = calibrate(tile, x, weights, config)
    program = COMPILERS[tile](x, weights, config, calibration)
    dut._log.info(f"seed {SEED}: {tile}, {len(program.commands)} commands")

    y, cycles = await harness.run(program, 50_000_000, poll=4096)
    y_ref, _ = TILES[tile][1](x, weights, config, calibration, Trace())
    assert np.array_equal(y, y_ref), "the output differs from the golden tile's"

    executed = program.commands[:-1]
    spans = list(zip(harness.dispatched, harness.retired_at))
    assert len(spans) == len(executed)
    macs, compute, host, model = command_figures(executed, spans, config)
    per_cycle = config.macs_per_cycle
    figures = {
        f"tile_util_{tile}": macs / (cycles * per_cycle),
        f"tile_util_{tile}_loads_hidden": macs / ((cycles - host) * per_cycle),
        f"tile_util_{tile}_model": macs / (model * per_cycle),
        f"{tile}_cycles": cycles,
        f"{tile}_cycles_loads": host,
        f"{tile}_cycles_compute": compute,
        f"{tile}_cycles_model": model,
        f"{tile}_cycles_controller": controller_cycles(program.commands),
        f"{tile}_commands": len(program.commands),
        f"{tile}_macs": macs,
        f"{tile}_sim_cycles_per_second": cycles / harness.wall_seconds,
    }
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump(figures, out)
