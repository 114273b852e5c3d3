"""Bit-exact integer matmul of the VSQ MAC lanes.

For every output element and every V-element vector k, in increasing k:
    d = sum(a_i * b_i)                          exact
    p = rhu(sA * sB, 2M - scale_product_bits)   (p = 1 without vector scales)
    acc = saturate(acc + d * p, acc_bits)
Two paths give these bits, chosen per call. When p is separable (no vector scales, or
an exact scale product: p = sA * sB), the sum is one BLAS matmul of the operands
multiplied by their scales, exact in float32 below 2^24 and in float64 below 2^53; the
Cauchy-Schwarz bound |A_i| |B_j| on every partial sum proves both that and that no
partial sum of element (i, j) can saturate. Every other element, and every matmul with
rounded scale products, goes through the lanes' arithmetic in their order, saturating
after every add: the compiled lane (`golden.kernels.lane`) on large inputs, numpy's
cumulative sums (re-run in order only where a partial sum left the range) on small ones
(see `golden.compute`).
"""

import numpy as np

from vsq_accel.golden import arguments
from vsq_accel.golden.compute import blas_threads, compiled
from vsq_accel.golden.quantize import QuantizedRows
from vsq_accel.spec.config import AcceleratorConfig
from vsq_accel.spec.numerics import rhu, rhu_each, saturate

__all__ = ["vsq_matmul", "vector_products", "accumulate_saturating", "rescale_rows",
           "accumulator_scale", "accumulator_unit"]

# Integers up to these magnitudes are exact in float32 and float64 (with every partial sum).
_EXACT = {np.float32: 1 << 24, np.float64: 1 << 53}


def vsq_matmul(a, b_t, config, initial=None):
    """Accumulators (M x N, int64) of A @ B from quantized A (M x K) and B^T (N x K),
    continuing from `initial` accumulators (M x N) if given, as the array does when a
    reduction streams through in parts."""
    arguments.instance("config", config, AcceleratorConfig)
    _check_operand(a, config, "A")
    _check_operand(b_t, config, "B^T")
    if a.values.shape[1] != b_t.values.shape[1]:
        raise ValueError(f"reduction lengths differ: A has {a.values.shape[1]} columns, "
                         f"B^T has {b_t.values.shape[1]}")
    if initial is not None:
        arguments.integer_array("initial", initial, config.acc_min, config.acc_max,
                                (len(a.values), len(b_t.values)))
        initial = initial.astype(np.int64, copy=False)
    if separable(config):
        with blas_threads():
            return _through_blas(a, b_t, config, initial)
    return _in_lane_order(a.vectors, a.scales, b_t.vectors, b_t.scales, config, initial)


def separable(config):
    """Whether p = sA * sB exactly, so that a matmul of scaled operands gives sum(d * p)."""
    return not config.vector_scales or config.scale_product_shift == 0


def blas_dtype(bound):
    """The float type in which integers up to `bound` (and their sums) are exact, or None."""
    for dtype, limit in _EXACT.items():
        if bound < limit:
            return dtype
    return None


def _through_blas(a, b_t, config, initial):
    """One BLAS matmul where it is provably exact and unsaturated; the rows of A with an
    element that might saturate go through the lane kernel."""
    a_scaled, b_scaled = _scaled(a), _scaled(b_t)
    # Every partial sum of element (i, j), in any order, is at most |A_i| |B_j| (with a
    # margin for the square root's rounding).
    a_norms, b_norms = _norms(a_scaled), _norms(b_scaled)
    dtype = blas_dtype(a_norms.max() * b_norms.max())
    if dtype is None:
        return _in_lane_order(a.vectors, a.scales, b_t.vectors, b_t.scales, config, initial)
    result = (a_scaled.astype(dtype) @ b_scaled.T.astype(dtype)).astype(np.int64)
    if initial is not None:
        result += initial
    largest_initial = 0 if initial is None else int(np.abs(initial).max())
    if a_norms.max() * b_norms.max() + largest_initial > config.acc_max:
        reach = np.outer(a_norms, b_norms)
        if initial is not None:
            reach += np.abs(initial)
        unsafe = (reach > config.acc_max).any(axis=1)
        if unsafe.any():
            start = None if initial is None else initial[unsafe]
            result[unsafe] = _in_lane_order(a.vectors[unsafe], _scales(a, unsafe),
                                            b_t.vectors, b_t.scales, config, start)
    return result


def _in_lane_order(a_vectors, a_scales, b_vectors, b_scales, config, initial):
    """The lanes' sums in their order, saturating after every add: compiled on large
    inputs, numpy on small ones (the same bits)."""
    if compiled(a_vectors.size * len(b_vectors)):
        from vsq_accel.golden.kernels.lane import lane_matmul  # numba only where it pays

        return lane_matmul(a_vectors, a_scales, b_vectors, b_scales, config, initial)
    terms = vector_products(a_vectors, a_scales, b_vectors, b_scales, config)
    return accumulate_saturating(terms, config.acc_bits, 0 if initial is None else initial)


def _norms(scaled):
    """Euclidean norm of each row of integers, rounded up. The sums of squares are exact
    in int64: a checked operand's scaled value is at most 2^7 x 255 < 2^15, so a row
    would need 2^33 elements to reach 2^63."""
    squares = np.einsum("ij,ij->i", scaled, scaled)
    return np.sqrt(squares) * (1 + 2.0 ** -50)


def _scaled(q):
    """Values times their vector's scale (R x K, int64)."""
    if q.scales is None:
        return q.values
    return q.values * np.repeat(q.scales, q.vector_size, axis=1)


def vector_products(a_vectors, a_scales, b_vectors, b_scales, config):
    """Scaled vector products d * p, shape (K // V, rows of A, rows of B^T), int64.

    a_vectors (Ma, KV, V) and b_vectors (Nb, KV, V) are integer arrays; the scales are
    (Ma, KV) and (Nb, KV), or None without vector scales.
    """
    a_k_major = np.ascontiguousarray(a_vectors.transpose(1, 0, 2), dtype=np.float64)
    b_k_major = np.ascontiguousarray(b_vectors.transpose(1, 2, 0), dtype=np.float64)
    dots = np.matmul(a_k_major, b_k_major).astype(np.int64)
    if not config.vector_scales:
        return dots
    scale_products = a_scales.T[:, :, None] * b_scales.T[:, None, :]
    return dots * rhu(scale_products, config.scale_product_shift)


def accumulate_saturating(terms, bits, initial=0):
    """Sum terms along axis 0 in order, starting from `initial`, saturating to `bits`
    after every add."""
    partial = np.cumsum(terms, axis=0) + initial
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    result = partial[-1] if len(terms) else np.zeros(terms.shape[1:], np.int64) + initial
    left_range = np.any((partial < low) | (partial > high), axis=0)
    if np.any(left_range):
        exact = (np.zeros(terms.shape[1:], np.int64) + initial)[left_range]
        for term in terms[:, left_range]:
            exact = saturate(exact + term, bits)
        result = result.copy()
        result[left_range] = exact
    return result


def rescale_rows(acc, rises, config):
    """Accumulators (rows x N) moved to a row max `rises` (per row, >= 0) whole units
    higher: each row divided by 2^rise, rounded half up (a rise of acc_bits or more
    leaves 0 of any accumulator). How one-pass attention carries P V's partial sums
    from one block of keys to the next."""
    acc = arguments.integer_array("acc", acc, config.acc_min, config.acc_max)
    if acc.ndim != 2:
        raise ValueError(f"acc has shape {acc.shape}; it must be rows x columns")
    rises = arguments.integer_array("rises", rises, 0, 1 << 62, (len(acc),))
    return rhu_each(acc.astype(np.int64), np.minimum(rises, config.acc_bits)[:, None])


def accumulator_scale(a, b_t, config):
    """Float value of one accumulator unit per output element (M x N)."""
    return accumulator_unit(a.gamma, b_t.gamma, config)


def accumulator_unit(left_gamma, right_gamma, config):
    """Float value of one accumulator unit from the coarse scales of A's rows and of
    B^T's rows (left rows x right rows)."""
    unit = 2.0 ** config.scale_product_shift if config.vector_scales else 1.0
    return (np.asarray(left_gamma).reshape(-1, 1) * np.asarray(right_gamma).reshape(1, -1)
            * unit)


def _scales(q, part):
    return None if q.scales is None else q.scales[part]


def _check_operand(q, config, name):
    """Reject operands the lanes of this configuration cannot take, naming the problem."""
    arguments.instance(name, q, QuantizedRows)
    if q.vector_size != config.vector_size:
        raise ValueError(f"{name} is cut into {q.vector_size}-element vectors, "
                         f"the configuration into {config.vector_size}")
    if (q.scales is not None) != config.vector_scales:
        have = "has" if q.scales is not None else "has no"
        raise ValueError(f"{name} {have} per-vector scales but the configuration is "
                         f"{config.format_name}")
    arguments.integer_array(f"{name} values", q.values, config.data_min, config.data_max)
    if q.values.ndim != 2 or q.values.shape[1] % config.vector_size:
        raise ValueError(f"{name} values have shape {q.values.shape}: they must be rows of "
                         f"whole {config.vector_size}-element vectors")
    if q.scales is not None:
        arguments.integer_array(f"{name} scales", q.scales, 0, config.scale_max,
                                (len(q.values), q.values.shape[1] // config.vector_size))
