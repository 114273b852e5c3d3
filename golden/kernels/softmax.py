"""The softmax contract's two loops (`golden.softmax`) as compiled kernels over many rows:
each row walks its beats as the unit does, rows go to separate threads.

    term(x, m) = rhu(LUT[t mod 2^F], t >> F),  t = m * 2^F - x  (shifts past E + 1 give 0)
    loop 1, per beat:  m' = max(m, ceil(kept x));  d = rhu(d, m' - m) + sum(term(x, m'))
"""

import numba
import numpy as np

from vsq_accel.golden.compute import kernel_threads

__all__ = ["loop1_rows", "exponential_rows"]


def loop1_rows(logits, keep, row_max, row_sum, table, config):
    """Loop 1 continued over logits (R x n int64, kept where `keep`): new (m, d)."""
    row_max, row_sum = row_max.copy(), row_sum.copy()
    kernel_threads()
    _loop1(logits, keep, row_max, row_sum, table, config.softmax_lanes,
           config.softmax_frac_bits, config.softmax_exp_bits)
    return row_max, row_sum


def exponential_rows(logits, keep, row_max, table, config):
    """term(x, m) of every logit against its row's m; 0 where not kept."""
    terms = np.empty(logits.shape, np.int64)
    kernel_threads()
    _exponentials(logits, keep, row_max, table, config.softmax_frac_bits,
                  config.softmax_exp_bits, terms)
    return terms


@numba.njit(inline="always")
def _term(x, m, table, frac_bits, exp_bits):
    t = (m << frac_bits) - x
    shift = max(0, min(t >> frac_bits, exp_bits + 2))
    value = table[t & ((1 << frac_bits) - 1)]
    return (value + ((1 << shift) >> 1)) >> shift


@numba.njit(parallel=True, cache=True)
def _loop1(logits, keep, row_max, row_sum, table, lanes, frac_bits, exp_bits):
    rows, length = logits.shape
    for r in numba.prange(rows):
        m, d = row_max[r], row_sum[r]
        for first in range(0, length, lanes):
            stop = min(first + lanes, length)
            top = m
            for i in range(first, stop):
                if keep[r, i]:
                    top = max(top, -((-logits[r, i]) >> frac_bits))
            rise = min(top - m, 62)
            d = (d + ((1 << rise) >> 1)) >> rise
            for i in range(first, stop):
                if keep[r, i]:
                    d += _term(logits[r, i], top, table, frac_bits, exp_bits)
            m = top
        row_max[r], row_sum[r] = m, d


@numba.njit(parallel=True, cache=True)
def _exponentials(logits, keep, row_max, table, frac_bits, exp_bits, terms):
    rows, length = logits.shape
    for r in numba.prange(rows):
        m = row_max[r]
        for i in range(length):
            terms[r, i] = (_term(logits[r, i], m, table, frac_bits, exp_bits)
                           if keep[r, i] else 0)
