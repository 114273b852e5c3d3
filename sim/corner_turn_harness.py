"""A cocotb harness around the emitted corner turn: streams blocks of S as the array
gives them (a column of L query rows per cycle, padded columns marked) and checks that
each row comes out in beats of P logits, in order, its last beat marked and masked."""

import numpy as np

from vsq_accel.sim.streams import Idle, start_and_reset, stream_through
from vsq_accel.spec import ports

__all__ = ["CornerTurnHarness", "block_columns", "block_beats"]


def block_columns(block, exponentials, config):
    """The columns of a block of logits (rows <= L x keys) in the array's order."""
    lanes = config.lanes
    rows, keys = block.shape
    columns = []
    for key in range(-(-keys // lanes) * lanes):
        logits = np.zeros(lanes, np.int64)
        if key < keys:
            logits[:rows] = block[:, key]
        columns.append({"logits": logits.tolist(), "keep": int(key < keys),
                        "last": int(key == keys - 1), "rows": rows,
                        "exponentials": int(exponentials)})
    return columns


def block_beats(block, exponentials, config):
    """The beats the softmax is to receive: each row in order, P logits a beat."""
    width = config.softmax_lanes
    keys = block.shape[1]
    beats = []
    for row in block:
        for first in range(0, keys, width):
            part = row[first:first + width]
            logits = np.zeros(width, np.int64)
            logits[:len(part)] = part
            beats.append({"logits": logits.tolist(), "keep": (1 << len(part)) - 1,
                          "last": int(first + width >= keys),
                          "exponentials": int(exponentials)})
    return beats


class CornerTurnHarness:
    """Clock, reset and the two stream ends of the corner turn."""

    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self._in_port = ports.score_column(config)
        self._out_port = ports.softmax_beat(config)

    async def reset(self):
        await start_and_reset(self.dut, ("i",), ("o",))

    async def run(self, blocks, idle=Idle(), seed=0):
        """Send (block, exponentials) pairs back to back; check every beat; return the
        transfer times (ns) in and out."""
        inputs = [column for block, mode in blocks
                  for column in block_columns(block, mode, self.config)]
        expected = [beat for block, mode in blocks
                    for beat in block_beats(block, mode, self.config)]
        received, in_times, out_times = await stream_through(
            self.dut, [self._in_port.pack(column) for column in inputs],
            len(expected), idle, seed)
        for index, (bits, want) in enumerate(zip(received, expected)):
            got = self._out_port.unpack(bits)
            got = {"logits": list(got.logits), "keep": int(got.keep), "last": got.last,
                   "exponentials": got.exponentials}
            if got != want:
                raise AssertionError(f"beat {index} differs:\n  got      {got}\n"
                                     f"  expected {want}")
        return in_times, out_times
