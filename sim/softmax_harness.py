"""A cocotb harness around the emitted softmax unit: sends rows as beats of P logits and
compares every output beat with the golden model, bit for bit."""

import numpy as np

from vsq_accel.golden.softmax import softmax_exponentials, softmax_reciprocal, softmax_rows
from vsq_accel.sim.streams import Idle, start_and_reset, stream_through
from vsq_accel.spec import ports

__all__ = ["SoftmaxHarness", "expected_beats"]


def expected_beats(rows, config):
    """The beats of each (logits, keep) or (logits, keep, exponentials) row, and the
    golden output beats: probabilities, or in exponential mode 2^(x - m); r beside them
    (0 for an overlong row).

    Returns (input beats, output beats), each a list of dicts in transfer order.
    """
    lanes = config.softmax_lanes
    inputs, outputs = [], []
    for logits, keep, *mode in rows:
        exponentials = bool(mode and mode[0])
        logits, keep = np.asarray(logits)[None], np.asarray(keep)[None]
        result = softmax_rows(logits, keep, config)
        values, reciprocal = result.probs[0], 0
        if not result.error[0]:
            reciprocal = int(softmax_reciprocal(result.row_sum, config)[0])
            if exponentials:
                values = softmax_exponentials(logits, keep, result.row_max, config)[0]
        length = logits.shape[1]
        beats = -(-length // lanes)
        padded = beats * lanes
        x = np.zeros(padded, np.int64)
        k = np.zeros(padded, bool)
        v = np.zeros(padded, np.int64)
        x[:length], k[:length], v[:length] = logits[0], keep[0], values
        for beat in range(beats):
            part = slice(beat * lanes, (beat + 1) * lanes)
            last = beat == beats - 1
            inputs.append({"logits": x[part].tolist(),
                           "keep": int(sum(int(b) << i for i, b in enumerate(k[part]))),
                           "last": int(last), "exponentials": int(exponentials)})
            outputs.append({"values": v[part].tolist(), "keep": inputs[-1]["keep"],
                            "reciprocal": reciprocal, "last": int(last),
                            "error": int(result.error[0])})
    return inputs, outputs


class SoftmaxHarness:
    """Clock, reset and the two stream ends of the softmax unit."""

    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self._in_port = ports.softmax_beat(config)
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
            got = self._out_port.unpack(bits)
            got = {"values": list(got.values), "keep": int(got.keep),
                   "reciprocal": got.reciprocal, "last": got.last, "error": got.error}
            if got != want:
                raise AssertionError(f"output beat {index} differs from the golden model:\n"
                                     f"  got      {got}\n  expected {want}")
        return in_times, out_times
