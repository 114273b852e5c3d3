"""A tile run the compiled way: calibrated on the float model, compiled to a command
list, interpreted, and set beside both float models."""

import dataclasses

import numpy as np

from vsq_accel.golden.tile_program import calibrate
from vsq_accel.golden.tile_weights import tile_input
from vsq_accel.golden.trace import Trace
from vsq_accel.toolchain.compiler import COMPILERS
from vsq_accel.toolchain.interpreter import TraceRecorder, read_operand, run_program

__all__ = ["TileRun", "run_tile"]


@dataclasses.dataclass(frozen=True)
class TileRun:
    """A tile's output from its compiled command list (scaled back to float), from the
    exact float model and from the float model with the hardware's substitutions; the
    trace of what the commands computed (V's accumulators and y transposed, as V^T is
    produced) and the program itself."""

    output: np.ndarray
    exact: np.ndarray
    friendly: np.ndarray
    trace: Trace
    program: object


def run_tile(tile, x, weights, config):
    """Run tile "sa", "mhsa" or "ffn" on x (tokens x d_model): compiled, interpreted,
    and in float."""
    x = tile_input(tile, x, weights, config)
    exact, friendly, calibration = calibrate(tile, x, weights, config)
    program = COMPILERS[tile](x, weights, config, calibration)
    recorder = TraceRecorder()
    y, machine = run_program(program, config, recorder)
    trace = recorder.to_trace(config)
    for name in ("x", "concat_op"):
        if name in program.regions:
            values, scales = read_operand(machine, program.regions[name])
            trace.add(f"{name}.values", values, f"{config.format_name} values")
            if scales is not None:
                trace.add(f"{name}.scales", scales, "per-vector scales")
    return TileRun(y * program.unit, exact, friendly, trace, program)
