"""A cocotb harness around the emitted row requantizer: streams rows of exponentials as
the softmax unit emits them (beats of P, the row's last marked, its tail masked) and
checks that the vectors which leave are, row by row and in order, the golden
`requantize_rows` of each row, with the row's reciprocal, state and error on its last
group."""

import dataclasses

import numpy as np

from vsq_accel.golden.ppu import requantize_rows
from vsq_accel.sim.streams import Idle, start_and_reset, stream_through
from vsq_accel.spec import ports
from vsq_accel.spec.precision import FORMATS, format_config

__all__ = ["Row", "RowRequantizerHarness", "check_groups", "exponential_rows", "row_beats"]


@dataclasses.dataclass(frozen=True)
class Row:
    """A row of the softmax's output: its values, r, its state (`spec.ports.softmax_state`:
    row_max, row_sum, rise) and error flag."""

    values: np.ndarray
    reciprocal: int = 0
    error: bool = False
    state: dict = dataclasses.field(default_factory=dict)

    def carried(self):
        """What the row's last group carries besides its vectors."""
        state = {name: self.state.get(name, 0) for name in ("row_max", "row_sum", "rise")}
        return {"reciprocal": self.reciprocal, **state, "error": int(self.error)}


def exponential_rows(rng, lengths, config):
    """Rows of 2^(x - m) values (0 to 2^E, the row's max at 2^E), r and error at random,
    and on purpose a row of zeros and a row of equal values."""
    top = 1 << config.softmax_exp_bits
    rows = []
    for index, length in enumerate(lengths):
        values = rng.integers(0, top + 1, length) >> rng.integers(0, 12, length)
        values[rng.integers(length)] = top
        if index == 1:
            values[:] = 0
        if index == 2:
            values[:] = top
        state = {"row_max": int(rng.integers(config.softmax_logit_min,
                                             config.softmax_logit_max + 1)),
                 "row_sum": int(rng.integers(1 << config.softmax_sum_bits)),
                 "rise": int(rng.integers(config.acc_bits + 1))}
        rows.append(Row(values, int(rng.integers(1 << config.softmax_recip_bits)),
                        bool(index == 3), state))
    return rows


def row_beats(rows, params, config, format=None):
    """The input beats of the rows, with the command's parameters and format (the
    entries' own if None) on every beat."""
    lanes = config.softmax_lanes
    fields = dataclasses.asdict(params)     # the payload's parameter fields, by name
    data_bits, scaled = FORMATS[format or config.own_format]
    fields |= {name: int(data_bits == 8 if name == "wide" else scaled)
               for name in ports.operand_format_fields(config)}
    beats = []
    for row in rows:
        length = len(row.values)
        count = -(-length // lanes)
        for index in range(count):
            part = [int(v) for v in row.values[index * lanes:(index + 1) * lanes]]
            kept = len(part)
            beats.append({"beat": {"values": part + [0] * (lanes - kept),
                                   "keep": (1 << kept) - 1, **row.carried(),
                                   "last": int(index == count - 1)},
                          **fields})
    return beats


def _decode(group, config):
    """(vectors [(values, scale)], row_end, what it carries) of an output group."""
    vectors = [(list(vector.data), int(vector.scale) if config.vector_scales else None)
               for vector in list(group.vectors)[:group.count]]
    carried = {name: int(group[name])
               for name in ("reciprocal", "row_max", "row_sum", "rise", "error")}
    return vectors, int(group.row_end), carried


def check_groups(groups, rows, params, config, format=None):
    """Compare the groups that left (unpacked) with the golden vectors of each row, in
    `format` (the entries' own if None; INT4 leaves scales of 0)."""
    operands = format_config(config, format or config.own_format)
    received, current = [], []
    for index, group in enumerate(groups):
        vectors, row_end, carried = _decode(group, config)
        if not vectors:
            raise AssertionError(f"group {index} is empty")
        current.extend(vectors)
        if row_end:
            received.append((current, carried))
            current = []
    if current:
        raise AssertionError(f"{len(current)} vectors after the last row's end")
    if len(received) != len(rows):
        raise AssertionError(f"{len(received)} rows ended, {len(rows)} were sent")
    for number, (row, got) in enumerate(zip(rows, received)):
        values, scales = requantize_rows(np.asarray(row.values, np.int64)[None], params,
                                         operands)
        size = config.vector_size
        expected = [(values[0, start:start + size].tolist(),
                     None if not config.vector_scales
                     else 0 if scales is None else int(scales[0, start // size]))
                    for start in range(0, values.shape[1], size)]
        want = (expected, row.carried())
        if got != want:
            raise AssertionError(f"row {number} (length {len(row.values)}) differs from the "
                                 f"golden requantizer:\n  got      {got}\n  expected {want}")


class RowRequantizerHarness:
    """Clock, reset and the two stream ends of the row requantizer."""

    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self._in_port = ports.row_beat(config)
        self._out_port = ports.row_vectors(config)

    async def reset(self):
        await start_and_reset(self.dut, ("i",), ("o",))

    async def run(self, rows, params, idle=Idle(), seed=0, format=None):
        """Stream the rows through in `format` (the entries' own if None), take groups
        until every row has ended, check every row; return the transfer times (ns) of the
        inputs and outputs."""
        inputs = row_beats(rows, params, self.config, format)
        port = self._out_port
        seen, ended = 0, 0

        def every_row_ended(received):
            nonlocal seen, ended
            ended += sum(port.unpack(bits).row_end for bits in received[seen:])
            seen = len(received)
            return ended == len(rows)

        received, in_times, out_times = await stream_through(
            self.dut, [self._in_port.pack(beat) for beat in inputs],
            every_row_ended, idle, seed)
        check_groups([port.unpack(bits) for bits in received], rows, params,
                     self.config, format)
        return in_times, out_times
