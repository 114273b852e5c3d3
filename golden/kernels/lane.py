"""The VSQ lane's arithmetic as a compiled kernel, for the matmuls no BLAS call computes
exactly: those with rounded scale products (not separable into the operands) or whose
partial sums may saturate (so the order of the adds matters).

For every output element, in increasing vector index k, exactly as the lanes do:
    d = sum(a_i * b_i);  p = rhu(sA * sB, shift);  acc = saturate(acc + d * p)
The loops run two rows of A against all of B at once: for one vector of each, the dot
products with every row of B^T grow together in narrow integer arrays (int16 when the
configuration's dot products fit), which the compiler turns into wide SIMD
multiply-adds; pairs of rows go to separate threads.
"""

import numba
import numpy as np

from vsq_accel.golden.compute import kernel_threads

__all__ = ["lane_matmul", "dot_dtype", "accumulator_dtype"]


def dot_dtype(config):
    """The narrowest integer type that holds every dot product of one vector pair."""
    return _narrowest(*config.dot_range)


def accumulator_dtype(config):
    """int32 when an accumulator plus any term (and any scale product) fits it, so the
    per-vector step runs on twice the SIMD lanes of int64."""
    largest_term = max(-config.dot_range[0], config.dot_range[1]) * config.scale_product_max
    largest_product = config.scale_max ** 2 if config.vector_scales else 1
    return _narrowest(-config.acc_max - 1 - largest_term,
                      max(config.acc_max + largest_term, largest_product), np.int32)


def _narrowest(low, high, smallest=np.int16):
    for dtype in (np.int16, np.int32, np.int64):
        if np.iinfo(dtype).bits >= np.iinfo(smallest).bits and \
                np.iinfo(dtype).min <= low and high <= np.iinfo(dtype).max:
            return dtype
    raise ValueError(f"{low}..{high} does not fit 64 bits")


def lane_matmul(a_vectors, a_scales, b_vectors, b_scales, config, initial):
    """Accumulators (M x N, int64) from a_vectors (M, K/V, V), b_vectors (N, K/V, V)
    and their scales (M, K/V), (N, K/V), or None without vector scales, continuing
    from `initial` (M x N; None: zeros)."""
    rows, vectors, _ = a_vectors.shape
    dtype, wide = dot_dtype(config), accumulator_dtype(config)
    a = np.ascontiguousarray(a_vectors, dtype=dtype)
    b = np.ascontiguousarray(b_vectors.transpose(1, 2, 0), dtype=dtype)    # (K/V, V, N)
    if config.vector_scales:
        sa = np.ascontiguousarray(a_scales, dtype=wide)
        sb = np.ascontiguousarray(b_scales.T, dtype=wide)                   # (K/V, N)
        shift = config.scale_product_shift
    else:                                 # p = rhu(1 * 1, 0) = 1
        sa = np.ones((rows, vectors), wide)
        sb = np.ones((vectors, len(b_vectors)), wide)
        shift = 0
    acc = (np.zeros((rows, len(b_vectors)), wide) if initial is None
           else np.array(initial, dtype=wide))
    kernel_threads()
    _lanes(a, sa, b, sb, wide(shift), wide(config.acc_min), wide(config.acc_max), acc)
    return acc.astype(np.int64)


@numba.njit(parallel=True, cache=True)
def _lanes(a, sa, b, sb, shift, low, high, acc):
    """acc (M x N) += the lanes' saturating sums, in place. Two rows of A at a time share
    each load of B (an odd last row is computed twice, identically)."""
    rows, vectors, size = a.shape
    columns = b.shape[2]
    half = (shift - shift + 1 << shift) >> 1           # in the accumulators' type
    for pair in numba.prange((rows + 1) // 2):
        first, second = 2 * pair, min(2 * pair + 1, rows - 1)
        dots_first, dots_second = np.empty(columns, a.dtype), np.empty(columns, a.dtype)
        acc_first, acc_second = acc[first].copy(), acc[second].copy()
        for k in range(vectors):
            dots_first[:] = 0
            dots_second[:] = 0
            for e in range(size):
                x_first, x_second = a[first, k, e], a[second, k, e]
                for j in range(columns):
                    y = b[k, e, j]
                    dots_first[j] += x_first * y
                    dots_second[j] += x_second * y
            _scaled_add(acc_first, dots_first, sa[first, k], sb[k], half, shift, low, high)
            _scaled_add(acc_second, dots_second, sa[second, k], sb[k], half, shift, low,
                        high)
        acc[first] = acc_first
        acc[second] = acc_second


@numba.njit(inline="always")
def _scaled_add(acc, dots, scale, scales, half, shift, low, high):
    """acc = saturate(acc + d * rhu(sA * sB, shift)), in acc's integer type."""
    for j in range(len(acc)):
        product = (scale * scales[j] + half) >> shift
        acc[j] = min(max(acc[j] + acc.dtype.type(dots[j]) * product, low), high)
