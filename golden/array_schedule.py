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
"""

import dataclasses

import numpy as np

from vsq_accel.golden.quantize import QuantizedRows
from vsq_accel.golden.vsq_matmul import vsq_matmul

__all__ = ["ArrayStreams", "array_streams"]


@dataclasses.dataclass(frozen=True)
class ArrayStreams:
    """The three streams of one GEMM, each in transfer order.

    a_values (n_a, V), a_scales (n_a,) or None; b_values (n_b, V), b_scales (n_b,) or
    None, b_last (n_b,), b_init (n_b, L): a first slice's starting accumulators (0 on the
    other slices); c_columns (n_c, L), the expected accumulators.
    """

    a_values: np.ndarray
    a_scales: np.ndarray | None
    b_values: np.ndarray
    b_scales: np.ndarray | None
    b_last: np.ndarray
    b_init: np.ndarray
    c_columns: np.ndarray


def array_streams(a, b_t, config, initial=None):
    """Schedule A (M x K) @ B (K x N), given quantized A and B^T, on the MAC array,
    starting from `initial` accumulators (M x N) if given."""
    lanes = config.lanes
    rows, columns = len(a.values), len(b_t.values)
    a = _pad_rows(a, lanes)
    b_t = _pad_rows(b_t, lanes)
    start = np.zeros((len(a.values), len(b_t.values)), np.int64)
    if initial is not None:
        start[:rows, :columns] = initial
    accumulators = vsq_matmul(a, b_t, config, start)
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
    return ArrayStreams(
        a_values=flat(a_order(a.vectors), config.vector_size),
        a_scales=None if a.scales is None else flat(a_order(a.scales)),
        b_values=flat(b_order(b_t.vectors), config.vector_size),
        b_scales=None if b_t.scales is None else flat(b_order(b_t.scales)),
        b_last=last.reshape(-1),
        b_init=init.reshape(-1, lanes),
        c_columns=flat(columns, lanes),
    )


def _pad_rows(q, multiple):
    """Append zero rows (zero values and scales) up to a multiple of `multiple` rows."""
    missing = -len(q.values) % multiple
    if not missing:
        return q

    def pad(array):
        return np.concatenate([array, np.zeros((missing,) + array.shape[1:], array.dtype)])

    return QuantizedRows(pad(q.values), None if q.scales is None else pad(q.scales),
                         pad(q.gamma), q.vector_size, q.columns)
