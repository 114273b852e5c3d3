"""A cocotb harness around the emitted softmax unit: sends rows as beats of P logits and
compares every output beat with the golden model, bit for bit."""

import numpy as np

from vsq_accel.golden.softmax import (softmax_exponentials, softmax_loop1, softmax_loop2,
                                      softmax_reciprocal, softmax_start)
from vsq_accel.sim.streams import Idle, start_and_reset, stream_through
from vsq_accel.spec import ports

__all__ = ["SoftmaxHarness", "expected_beats"]


def expected_beats(rows, config):
    """The beats of each (logits, keep[, exponentials[, start]]) row, and the golden output
    beats: probabilities, or in exponential mode 2^(x - m); r and the row's state after
    it beside them (r is 0 for an overlong row, whose state is not compared). `start`,
    (max, sum), resumes the row from that state as a SOFTMAX that is not `first` does.

    Returns (input beats, output beats), each a list of dicts in transfer order.
    """
    lanes = config.softmax_lanes
    inputs, outputs = [], []
    for logits, keep, *mode in rows:
        exponentials = bool(mode and mode[0])
        start = mode[1] if len(mode) > 1 else None
        logits, keep = np.asarray(logits)[None], np.asarray(keep)[None]
        length = logits.shape[1]
        beats = -(-length // lanes)
        first_max, first_sum = (softmax_start(1, config) if start is None
                                else (np.array([start[0]]), np.array([start[1]])))
        values, carried = np.zeros(length, np.int64), {"reciprocal": 0, "error": 1}
        if beats <= config.softmax_max_beats:
            row_max, row_sum = softmax_loop1(logits, keep, first_max, first_sum, config)
            rise = 0 if start is None else min(int(row_max[0] - first_max[0]), config.acc_bits)
            carried = {"reciprocal": int(softmax_reciprocal(row_sum, config)[0]),
                       "row_max": int(row_max[0]), "row_sum": int(row_sum[0]), "rise": rise,
                       "error": 0}
            values = (softmax_exponentials(logits, keep, row_max, config) if exponentials
                      else softmax_loop2(logits, keep, row_max, row_sum, config))[0]
        padded = beats * lanes
        x = np.zeros(padded, np.int64)
        k = np.zeros(padded, bool)
        v = np.zeros(padded, np.int64)
        x[:length], k[:length], v[:length] = logits[0], keep[0], values
        for beat in range(beats):
            part = slice(beat * lanes, (beat + 1) * lanes)
            last = beat == beats - 1
            keep_bits = int(sum(int(b) << i for i, b in enumerate(k[part])))
            inputs.append({"beat": {"logits": x[part].tolist(), "keep": keep_bits,
                                    "last": int(last), "exponentials": int(exponentials)},
                           "resume": int(start is not None), "start_max": int(first_max[0]),
                           "start_sum": int(first_sum[0])})
            outputs.append({"values": v[part].tolist(), "keep": keep_bits, **carried,
                            "last": int(last)})
    return inputs, outputs


class SoftmaxHarness:
    """Clock, reset and the two stream ends of the softmax unit."""

    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self._in_port = ports.softmax_input(config)
        self._out_port = ports.softmax_probs(config)

    async def reset(self):
        await start_and_reset(self.dut, ("i",), ("o",))

    async def run_rows(self, rows, idle=Idle(), seed=0):
        """Send rows of (logits, keep); check every output beat; return the transfer
        times (ns) of the input and output beats."""
        inputs, expected = expected_beats(rows, self.config)
        received, in_times, out_times = await stream_through(
            self.dut, [self._in_port.pack(beat) for beat in inputs],
            len(expected), idle, seed)
        for index, (bits, want) in enumerate(zip(received, expected)):
            fields = self._out_port.unpack(bits)
            got = {key: fields[key] for key in want}
            if got != want:
                raise AssertionError(f"output beat {index} differs from the golden model:\n"
                                     f"  got      {got}\n  expected {want}")
        return in_times, out_times
