"""The PPU's two steps (`golden.ppu`) as compiled kernels, for when every product fits
int64 (the caller checks; wider products stay in numpy's Python integers): scaling the
accumulators, and requantizing rows to VSQ with a scale per vector. Rows go to separate
threads; the formulas are those of `golden.ppu`'s docstring.
"""

import numba
import numpy as np

from vsq_accel.golden.compute import kernel_threads

__all__ = ["scale_rows", "requantize_vsq_rows"]


def scale_rows(acc, row, mult, shift, bias, relu, out_bits, per_row):
    """saturate(relu?(rhu(acc * r_i * mult, shift) + bias), out_bits); the parameters
    indexed by column, or by row with `per_row`."""
    y = np.empty(acc.shape, np.int64)
    high = (1 << (out_bits - 1)) - 1
    kernel_threads()
    _scale(acc, row, mult, shift, bias, relu, -high - 1, high, per_row, y)
    return y


def requantize_vsq_rows(y, requantization, reciprocals, config):
    """(values, scales) of y (rows x K, K whole vectors) in VSQ."""
    rows, length = y.shape
    values = np.empty((rows, length), np.int64)
    scales = np.empty((rows, length // config.vector_size), np.int64)
    kernel_threads()
    _requantize_vsq(y, config.vector_size, requantization.scale_mult,
                    requantization.scale_shift, requantization.element_mult,
                    requantization.element_shift + config.ppu_recip_bits, reciprocals,
                    config.scale_max, config.data_max, values, scales)
    return values, scales


@numba.njit(inline="always")
def _rhu(value, shift):
    """Round half up by `shift` (0..62)."""
    if shift == 0:
        return value
    return (value + (1 << (shift - 1))) >> shift


@numba.njit(parallel=True, cache=True)
def _scale(acc, row, mult, shift, bias, relu, low, high, per_row, y):
    rows, columns = acc.shape
    for i in numba.prange(rows):
        row_index = np.int64(i)              # prange's index is unsigned
        for j in range(columns):
            c = row_index if per_row else j
            value = _rhu(acc[i, j] * row[i] * mult[c], shift[c]) + bias[c]
            if relu:
                value = max(value, 0)
            y[i, j] = min(max(value, low), high)


@numba.njit(parallel=True, cache=True)
def _requantize_vsq(y, size, scale_mult, scale_shift, element_mult, shift, reciprocals,
                    scale_max, qmax, values, scales):
    rows, length = y.shape
    for i in numba.prange(rows):
        for k in range(length // size):
            first = k * size
            amax = 0
            for e in range(first, first + size):
                amax = max(amax, abs(y[i, e]))
            s = (amax * scale_mult + (1 << scale_shift) - 1) >> scale_shift
            s = min(max(s, 1), scale_max)
            scales[i, k] = s
            factor = element_mult * reciprocals[s]
            for e in range(first, first + size):
                values[i, e] = min(max(_rhu(y[i, e] * factor, shift), -qmax), qmax)
