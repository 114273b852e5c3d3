"""A cocotb harness around the emitted requantizer: streams a matrix of y in the MAC
array's column order (tile row by tile row, L columns per tile, padded columns marked)
and compares every group of L vectors with the golden `requantize_rows`, bit for bit."""

import dataclasses

import numpy as np

from vsq_accel.golden.ppu import requantize_rows
from vsq_accel.sim.streams import Idle, start_and_reset, stream_through
from vsq_accel.spec import ports

__all__ = ["RequantizerHarness", "column_stream", "expected_groups"]


def column_stream(y, params, config):
    """The columns of y (m x n) as the array emits them, with keep, vector_end and last
    as the controller marks them."""
    lanes, size = config.lanes, config.vector_size
    rows, columns = y.shape
    tile_rows = -(-rows // lanes)
    padded = np.zeros((tile_rows * lanes, -(-columns // lanes) * lanes), np.int64)
    padded[:rows, :columns] = y
    fields = dataclasses.asdict(params)     # the payload's parameter fields, by name
    # A multi-format array's requantizer makes operands in the entries' own format here
    # (the accelerator's tests run the others).
    fields |= {name: int(name == "scaled") for name in ports.operand_format_fields(config)}
    stream = []
    for tile_row in range(tile_rows):
        for column in range(padded.shape[1]):
            keep = column < columns
            vector_end = keep and (column % size == size - 1 or column == columns - 1)
            stream.append({"y": padded[tile_row * lanes:(tile_row + 1) * lanes, column].tolist(),
                           "keep": int(keep), "vector_end": int(vector_end),
                           "last": int(vector_end and tile_row == tile_rows - 1
                                       and column == columns - 1), **fields})
    return stream


def expected_groups(y, params, config):
    """Per tile row and vector group: every lane's vector (values, scale) and `last`."""
    lanes, size = config.lanes, config.vector_size
    rows = y.shape[0]
    tile_rows = -(-rows // lanes)
    padded = np.zeros((tile_rows * lanes, y.shape[1]), np.int64)
    padded[:rows] = y
    values, scales = requantize_rows(padded, params, config)
    groups = values.shape[1] // size
    expected = []
    for tile_row in range(tile_rows):
        lanes_of = slice(tile_row * lanes, (tile_row + 1) * lanes)
        for group in range(groups):
            vectors = values[lanes_of, group * size:(group + 1) * size].tolist()
            vector_scales = None if scales is None else scales[lanes_of, group].tolist()
            expected.append((vectors, vector_scales,
                             int(tile_row == tile_rows - 1 and group == groups - 1)))
    return expected


class RequantizerHarness:
    """Clock, reset and the two stream ends of the requantizer."""

    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self._in_port = ports.requant_column(config)
        self._out_port = ports.requant_vectors(config)

    async def reset(self):
        await start_and_reset(self.dut, ("i",), ("o",))

    async def run(self, y, params, idle=Idle(), seed=0):
        """Stream y through; check every group; return the transfer times (ns)."""
        inputs = column_stream(np.asarray(y, np.int64), params, self.config)
        expected = expected_groups(np.asarray(y, np.int64), params, self.config)
        received, in_times, out_times = await stream_through(
            self.dut, [self._in_port.pack(column) for column in inputs],
            len(expected), idle, seed)
        for index, (bits, (vectors, scales, last)) in enumerate(zip(received, expected)):
            got = self._out_port.unpack(bits)
            got_vectors = [list(vector.data) for vector in got.vectors]
            got_scales = (None if scales is None
                          else [int(vector.scale) for vector in got.vectors])
            if (got_vectors, got_scales, got.last) != (vectors, scales, last):
                raise AssertionError(
                    f"group {index} differs from the golden requantizer:\n"
                    f"  got      {got_vectors} scales {got_scales} last {got.last}\n"
                    f"  expected {vectors} scales {scales} last {last}")
        return in_times, out_times
