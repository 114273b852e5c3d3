"""Bit-exact integer matmul of the VSQ MAC lanes.

For every output element and every V-element vector k, in increasing k:
    d = sum(a_i * b_i)                          exact
    p = rhu(sA * sB, 2M - scale_product_bits)   (p = 1 without vector scales)
    acc = saturate(acc + d * p, acc_bits)
Small-integer dot products are exact in float64 BLAS, and saturation is rare: it is
detected on the plain cumulative sums, and only the elements where a partial sum left
the accumulator's range are re-run in order with saturation after every add. When the
widths prove that no partial sum can reach 2^24 nor leave the accumulator's range (as
for Q K^T with dk = 64), every value is an integer below 2^24 and float32 BLAS computes
the sum exactly, in any order.
"""

import numpy as np

from golden import arguments
from golden.config import AcceleratorConfig
from golden.numerics import rhu, saturate
from golden.quantize import QuantizedRows

__all__ = ["vsq_matmul", "vector_products", "accumulate_saturating", "accumulator_scale",
           "accumulator_unit"]

# Elements of one (vectors x rows x columns) block of terms; bounds the working memory.
_BLOCK_ELEMENTS = 1 << 22


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
    rows, columns = len(a.values), len(b_t.values)
    if initial is None:
        initial = np.zeros((rows, columns), np.int64)
    arguments.integer_array("initial", initial, config.acc_min, config.acc_max,
                            (rows, columns))
    vectors = a.values.shape[1] // config.vector_size
    largest_term = max(-config.dot_range[0], config.dot_range[1]) * config.scale_product_max
    reach = vectors * largest_term + (int(np.abs(initial).max()) if initial.size else 0)
    in_float32 = reach < min(1 << 24, config.acc_max)
    block = max(1, _BLOCK_ELEMENTS // max(1, vectors * columns))
    result = np.empty((rows, columns), dtype=np.int64)
    for start in range(0, rows, block):
        part = slice(start, start + block)
        args = (a.vectors[part], _scales(a, part), b_t.vectors, _scales(b_t, slice(None)),
                config)
        if in_float32:
            result[part] = initial[part] + _float32_sum(*args)
        else:
            result[part] = accumulate_saturating(vector_products(*args), config.acc_bits,
                                                 initial[part])
    return result


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


def _float32_sum(a_vectors, a_scales, b_vectors, b_scales, config):
    """The sum of the scaled vector products in float32, for when it is exact there."""
    a_k_major = np.ascontiguousarray(a_vectors.transpose(1, 0, 2), dtype=np.float32)
    b_k_major = np.ascontiguousarray(b_vectors.transpose(1, 2, 0), dtype=np.float32)
    terms = np.matmul(a_k_major, b_k_major)
    if config.vector_scales:
        # rhu(sA * sB, s) = floor((sA * sB + 2^(s-1)) / 2^s), exact in float32 (< 2^17).
        shift = config.scale_product_shift
        scale_products = (a_scales.T[:, :, None].astype(np.float32)
                          * b_scales.T[:, None, :].astype(np.float32))
        if shift:
            scale_products = np.floor((scale_products + 2.0 ** (shift - 1)) * 2.0 ** -shift)
        terms *= scale_products
    return terms.sum(axis=0, dtype=np.float32).astype(np.int64)


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
