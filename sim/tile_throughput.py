"""cocotb test behind `make bench tiles`: SA, MHSA and FFN (ReLU, the PPU's GELU, the
host's GELU) at DeiT-Small shapes, and a long-row SA head (`sa_long`: 1024 tokens,
d_model = dk = 64, rows longer than the softmax the bench configures), on the
accelerator in Verilator, the cycles of every command stamped (dispatch to retirement)
and the output checked against the golden tile program. Utilization is measured with
the host's transfers (at one 64-bit beat a cycle, no stall) and without them (the
controller's schedule of the measured compute commands alone), each beside the
performance model's prediction for the same commands. Writes its figures as JSON to
BENCH_OUT, named after BENCH_KEY (BENCH_TILE if unset); the workload comes from
BENCH_TILE."""

import json
import os

import cocotb
import numpy as np

from vsq_accel.golden.tile_float import gelu
from vsq_accel.golden.tile_program import TILES, Trace, calibrate
from vsq_accel.golden.tile_weights import (random_attention_head, random_feed_forward,
                                           random_multi_head)
from vsq_accel.perf.dispatch import model_spans, program_cycles
from vsq_accel.sim.accelerator_harness import AcceleratorHarness
from vsq_accel.sim.testbench import config_from_env
from vsq_accel.spec.commands import Matmul
from vsq_accel.spec.host_interface import Slot, slot_of
from vsq_accel.toolchain.compiler import COMPILERS

SEED = 20261201
# DeiT-Small: tokens, model width, heads (64 channels each), FFN width.
TOKENS, D_MODEL, HEADS, D_FF = 197, 384, 6, 1536
# The long-row head: tokens and model width (one head as wide as the model).
LONG_TOKENS, LONG_D_MODEL = 1024, 64
# The FFN's activation in the GELU workloads: the PPU's, and the host's (a host step).
ACTIVATIONS = {"ffn_gelu": "gelu", "ffn_host_gelu": gelu}


def workload(name, rng):
    """(tile, x, weights) of a workload: "sa", "mhsa", "ffn" (also "ffn_gelu" and
    "ffn_host_gelu", with `ACTIVATIONS`) or "sa_long"."""
    if name == "sa_long":
        return ("sa", rng.normal(size=(LONG_TOKENS, LONG_D_MODEL)),
                random_attention_head(rng, LONG_D_MODEL, LONG_D_MODEL))
    if name in ACTIVATIONS:
        return ("ffn", *workload("ffn", rng)[1:])
    x = rng.normal(size=(TOKENS, D_MODEL))
    dk = D_MODEL // HEADS
    weights = {"sa": lambda: random_attention_head(rng, D_MODEL, dk),
               "mhsa": lambda: random_multi_head(rng, D_MODEL, HEADS, dk),
               "ffn": lambda: random_feed_forward(rng, D_MODEL, D_FF)}[name]()
    return name, x, weights


def without_host(commands, spans):
    """The commands and spans but the host's, END kept: the tile as it would run if
    the host's transfers took no time."""
    kept = [(command, span) for command, span in zip(commands, spans)
            if slot_of(command) != Slot.HOST]
    return [command for command, _ in kept], [span for _, span in kept]


def utilizations(commands, spans, macs, config):
    """(cycles, cycles without the host's transfers, and the two utilizations) of a
    run whose commands took `spans`."""
    cycles = program_cycles(commands, spans)
    hidden = program_cycles(*without_host(commands, spans))
    per_cycle = config.macs_per_cycle
    return cycles, hidden, macs / (cycles * per_cycle), macs / (hidden * per_cycle)


@cocotb.test()
async def tile_cycles(dut):
    config = config_from_env()
    name = os.environ["BENCH_TILE"]
    harness = AcceleratorHarness(dut, config, SEED)
    await harness.reset(check=False)
    rng = np.random.default_rng(SEED)
    tile, x, weights = workload(name, rng)
    options = {"activation": ACTIVATIONS[name]} if name in ACTIVATIONS else {}
    _, _, calibration = calibrate(tile, x, weights, config)
    program = COMPILERS[tile](x, weights, config, calibration, **options)
    dut._log.info(f"seed {SEED}: {name}, {len(x)} tokens, {len(program.commands)} commands")

    y, cycles = await harness.run(program, poll=4096)
    y_ref, _ = TILES[tile][1](x, weights, config, calibration, Trace(), **options)
    assert np.array_equal(y, y_ref), "the output differs from the golden tile's"

    macs = sum(command.m * command.trace["reduction"] * command.n
               for command in program.commands if isinstance(command, Matmul))
    measured = harness.spans() + [0]
    host = sum(span for command, span in zip(program.commands, measured)
               if slot_of(command) == Slot.HOST)
    _, hidden, util, util_hidden = utilizations(program.commands, measured, macs, config)
    model, model_hidden, model_util, model_util_hidden = utilizations(
        program.commands, model_spans(program.commands, config), macs, config)
    key = os.environ.get("BENCH_KEY", name)
    figures = {
        f"tile_util_{key}": util,
        f"tile_util_{key}_loads_hidden": util_hidden,
        f"tile_util_{key}_model": model_util,
        f"tile_util_{key}_loads_hidden_model": model_util_hidden,
        f"{key}_cycles": cycles,
        f"{key}_cycles_loads_hidden": hidden,
        f"{key}_cycles_model": model,
        f"{key}_cycles_loads_hidden_model": model_hidden,
        f"{key}_cycles_host_transfers": host,
        f"{key}_commands": len(program.commands),
        f"{key}_macs": macs,
        f"{key}_sim_cycles_per_second": cycles / harness.wall_seconds,
    }
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump(figures, out)
