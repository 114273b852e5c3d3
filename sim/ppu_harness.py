"""A cocotb harness around the emitted PPU scaling stage: sends columns of accumulators
with their parameters and compares every output column with the golden device PPU
(`golden.ppu.scale`), bit for bit."""

import dataclasses

import numpy as np

from vsq_accel.golden.ppu import Scaling, scale
from vsq_accel.sim.streams import Idle, start_and_reset, stream_through
from vsq_accel.spec import ports

__all__ = ["PpuColumn", "PpuScaleHarness", "expected_y", "random_columns", "gelu_shift"]


@dataclasses.dataclass(frozen=True)
class PpuColumn:
    """One column's accumulators and each lane's parameters (arrays of L), its mode."""

    acc: np.ndarray
    mult: np.ndarray
    shift: np.ndarray
    bias: np.ndarray
    reciprocal: np.ndarray
    relu: bool = False
    logits: bool = False
    gelu: bool = False
    gelu_shift: int = 0

    def payload(self, last, config):
        gelu = {"gelu": int(self.gelu), "gelu_shift": self.gelu_shift} if config.ppu_gelu else {}
        return {"acc": self.acc.tolist(), "mult": self.mult.tolist(),
                "shift": self.shift.tolist(), "bias": self.bias.tolist(),
                "reciprocal": self.reciprocal.tolist(), "relu": int(self.relu),
                "logits": int(self.logits), **gelu, "last": int(last)}


def expected_y(column, config):
    """The golden device PPU on one column: the lanes are rows, each with its own
    parameters (per_row), its own reciprocal."""
    out_bits = config.softmax_logit_bits if column.logits else config.ppu_bits
    y = scale(column.acc[:, None], Scaling(column.mult, column.shift, column.bias),
              column.relu, out_bits, row_factor=column.reciprocal, per_row=True,
              gelu_shift=column.gelu_shift if column.gelu else None)
    return y[:, 0].tolist()


def random_columns(rng, count, config, per_lane=True):
    """Columns over the whole range: accumulators, multipliers, shifts up to 62, biases
    and reciprocals drawn uniformly, the extremes of each in some lanes, modes mixed."""
    lanes = config.lanes

    def draw(low, high):
        values = rng.integers(low, high + 1, lanes)
        ends = rng.random(lanes)
        return np.where(ends < 0.1, low, np.where(ends > 0.9, high, values))

    columns = []
    for _ in range(count):
        mult = draw(0, (1 << config.ppu_mult_bits) - 1)
        shift = draw(0, 62)
        bias = draw(-(1 << (config.ppu_bits - 1)), (1 << (config.ppu_bits - 1)) - 1)
        if not per_lane:                      # a column's parameters: one for every lane
            mult, shift, bias = (np.full(lanes, v[0]) for v in (mult, shift, bias))
        reciprocal = (draw(0, (1 << config.softmax_recip_bits) - 1) if rng.random() < 0.5
                      else np.ones(lanes, np.int64))
        logits = bool(rng.random() < 0.3)
        gelu = config.ppu_gelu and not logits and rng.random() < 0.5
        columns.append(PpuColumn(draw(config.acc_min, config.acc_max), mult, shift, bias,
                                 reciprocal, bool(rng.random() < 0.5), logits, gelu,
                                 gelu_shift(rng, config) if gelu else 0))
    return columns


def gelu_shift(rng, config):
    """y's unit 2^-s for a GELU: mostly where y's range spans the GELU's table (x up to
    2^(ppu_bits - 1 - s) between 1/4 and 64), sometimes 0 or 62."""
    ends = rng.random()
    if ends < 0.1:
        return 0 if ends < 0.05 else 62
    return int(rng.integers(config.ppu_bits - 7, config.ppu_bits + 2))


class PpuScaleHarness:
    """Clock, reset and the two stream ends of the PPU scaling stage."""

    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self._in_port = ports.ppu_column(config)
        self._out_port = ports.ppu_y(config)

    async def reset(self):
        await start_and_reset(self.dut, ("i",), ("o",))

    async def run(self, columns, idle=Idle(), seed=0):
        """Send the columns (the last marked `last`); check every output column; return
        the transfer times (ns) in and out."""
        payloads = [self._in_port.pack(column.payload(index == len(columns) - 1, self.config))
                    for index, column in enumerate(columns)]
        received, in_times, out_times = await stream_through(self.dut, payloads, len(columns),
                                                             idle, seed)
        for index, (bits, column) in enumerate(zip(received, columns)):
            got = self._out_port.unpack(bits)
            want = expected_y(column, self.config)
            if list(got.y) != want or got.last != (index == len(columns) - 1):
                raise AssertionError(f"output column {index} differs from the golden PPU:\n"
                                     f"  got      {list(got.y)} last={got.last}\n"
                                     f"  expected {want}\n  input    {column}")
        return in_times, out_times
