"""The order in which the MAC array takes its operands and gives its results.

Output stationary, local A stationary: the L x L output tiles are visited row of tiles by
row of tiles; within a tile, for each V-element slice k of the reduction (increasing k),
the array takes L A vectors (rows of the tile, lane l gets row l) and then L B vectors
(columns of the tile), each broadcast to every lane. The B vectors of the last slice are
marked `last`; while they pass, the array emits the tile's finished columns, one per
cycle: column j holds the L accumulators C[tile rows, j]. The B vectors of the first
slice carry the accumulators their column starts from (`init`: 0, or a reduction's
earlier part).

M and N need not be multiples of L: the schedule pads A and B^T with zero rows (zero
values, zero scales), which the array computes like any other, and the padded
accumulators are zero. K is padded to whole vectors by the quantizer.

A GEMM names its format (`spec.precision.FORMATS`; the entries' own by default). On a
4-bit array that runs INT8 (`config.nibble_passes`) an INT8 vector is two transfers:
its high nibbles (signed) and then its low ones (unsigned, sent as their 4 bits), both
on A and on B; only the low one's column is accumulated. GEMMs of any formats follow
one another on the streams (`joined`).
"""

import dataclasses

import numpy as np

from vsq_accel.golden.entries import nibbles
from vsq_accel.golden.quantize import QuantizedRows
from vsq_accel.golden.vsq_matmul import vsq_matmul
from vsq_accel.spec.ports import OperandPart
from vsq_accel.spec.precision import format_config

__all__ = ["ArrayStreams", "array_streams", "joined"]


@dataclasses.dataclass(frozen=True)
class ArrayStreams:
    """The three streams of one GEMM, each in transfer order.

    a_values (n_a, V), a_scales (n_a,) or None; b_values (n_b, V), b_scales (n_b,) or
    None, b_last (n_b,), b_init (n_b, L): a first slice's starting accumulators (0 on the
    other slices); c_columns (n_c, L), the expected accumulators. a_parts (n_a,) and
    b_parts (n_b,): each transfer's `OperandPart`; b_scaled (n_b,): whether its vector
    scales apply.
    """

    a_values: np.ndarray
    a_scales: np.ndarray | None
    b_values: np.ndarray
    b_scales: np.ndarray | None
    b_last: np.ndarray
    b_init: np.ndarray
    c_columns: np.ndarray
    a_parts: np.ndarray
    b_parts: np.ndarray
    b_scaled: np.ndarray


def array_streams(a, b_t, config, initial=None, format=None):
    """Schedule A (M x K) @ B (K x N), given quantized A and B^T in `format` (the
    entries' own if None), on the MAC array, starting from `initial` accumulators (M x N)
    if given."""
    format = config.own_format if format is None else format
    if format not in config.supported_formats:
        raise ValueError(f"format {format!r} is not one of this array's formats "
                         f"({', '.join(config.supported_formats)})")
    lanes = config.lanes
    rows, columns = len(a.values), len(b_t.values)
    a = _pad_rows(a, lanes)
    b_t = _pad_rows(b_t, lanes)
    start = np.zeros((len(a.values), len(b_t.values)), np.int64)
    if initial is not None:
        start[:rows, :columns] = initial
    accumulators = vsq_matmul(a, b_t, format_config(config, format), start)
    tile_rows, tile_cols = len(a.values) // lanes, len(b_t.values) // lanes
    slices = a.values.shape[1] // config.vector_size

    def per_round(q, tiles):
        """(tiles, slices, L, ...) -> repeated for every tile of the other operand."""
        shape = (tiles, lanes, slices) + q.shape[2:]
        return q.reshape(shape).swapaxes(1, 2)

    def a_order(q):
        rounds = per_round(q, tile_rows)[:, None]
        return np.broadcast_to(rounds, (tile_rows, tile_cols) + rounds.shape[2:])

    def b_order(q):
        rounds = per_round(q, tile_cols)[None]
        return np.broadcast_to(rounds, (tile_rows, tile_cols) + rounds.shape[2:])

    def flat(ordered, *element_shape):
        return np.ascontiguousarray(ordered).reshape(-1, *element_shape)

    last = np.zeros((tile_rows, tile_cols, slices, lanes), dtype=bool)
    last[:, :, -1] = True
    init = np.zeros((tile_rows, tile_cols, slices, lanes, lanes), np.int64)
    init[:, :, 0] = start.reshape(tile_rows, lanes, tile_cols, lanes).transpose(0, 2, 3, 1)
    columns = accumulators.reshape(tile_rows, lanes, tile_cols, lanes).transpose(0, 2, 3, 1)
    a_values = flat(a_order(a.vectors), config.vector_size)
    b_values = flat(b_order(b_t.vectors), config.vector_size)
    streams = ArrayStreams(
        a_values=a_values,
        a_scales=None if a.scales is None else flat(a_order(a.scales)),
        b_values=b_values,
        b_scales=None if b_t.scales is None else flat(b_order(b_t.scales)),
        b_last=last.reshape(-1),
        b_init=init.reshape(-1, lanes),
        c_columns=flat(columns, lanes),
        a_parts=np.full(len(a_values), OperandPart.WHOLE),
        b_parts=np.full(len(b_values), OperandPart.WHOLE),
        b_scaled=np.full(len(b_values), format == "int4_vsq"),
    )
    if format == "int8" and config.nibble_passes:
        return _in_nibble_passes(streams)
    return streams


def _in_nibble_passes(streams):
    """Every A and B transfer as two, its high nibbles and then its low ones."""
    def twice(values):
        return None if values is None else np.repeat(values, 2, axis=0)

    def passes(values):
        high, low = nibbles(values)
        return np.stack([high, low], axis=1).reshape(-1, values.shape[1])

    def parts(count):
        return np.tile([OperandPart.HIGH, OperandPart.LOW], count)

    return dataclasses.replace(
        streams, a_values=passes(streams.a_values), a_scales=twice(streams.a_scales),
        b_values=passes(streams.b_values), b_scales=twice(streams.b_scales),
        b_last=twice(streams.b_last), b_init=twice(streams.b_init),
        a_parts=parts(len(streams.a_values)), b_parts=parts(len(streams.b_values)),
        b_scaled=twice(streams.b_scaled))


def joined(runs):
    """The streams of GEMMs run one after another, each in its own format: the array
    takes them without a gap. Without vector scales in some, their scales are 0."""
    def cat(name):
        parts = [getattr(run, name) for run in runs]
        if all(part is None for part in parts):
            return None
        counts = [len(run.a_values if name.startswith("a") else run.b_values)
                  for run in runs]
        return np.concatenate([np.zeros(count, np.int64) if part is None else part
                               for part, count in zip(parts, counts)])

    return ArrayStreams(**{field.name: cat(field.name)
                           for field in dataclasses.fields(ArrayStreams)})


def _pad_rows(q, multiple):
    """Append zero rows (zero values and scales) up to a multiple of `multiple` rows."""
    missing = -len(q.values) % multiple
    if not missing:
        return q

    def pad(array):
        return np.concatenate([array, np.zeros((missing,) + array.shape[1:], array.dtype)])

    return QuantizedRows(pad(q.values), None if q.scales is None else pad(q.scales),
                         pad(q.gamma), q.vector_size, q.columns)
