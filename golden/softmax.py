"""Base-2 softmax with an integer running max and online normalization (Softermax).

This is the bit-exact contract of the softmax unit. A row of W-bit signed logits x
(W = softmax_logit_bits, value x / 2^F, base 2) arrives in beats of P logits; each logit has a keep flag (0: masked
padding, which takes no part and gets probability 0). With E = softmax_exp_bits,
O = softmax_out_bits - 1 and k = softmax_recip_shift:

    term(x, m) = rhu(LUT[t mod 2^F], t >> F),  t = m * 2^F - x >= 0,
                 LUT[f] = round(2^E * 2^(-f / 2^F))         (2^(x - m) with E fraction bits)
    loop 1, per beat:  m' = max(m, ceil(kept x));  d = rhu(d, m' - m) + sum(term(x, m'))
    loop 2, per row:   r = floor(2^k / d)  (0 if nothing was kept)
            per logit: p = min(rhu(term(x, m) * r, k - O), 2^O - 1)

m starts at ceil(-2^(W-1) / 2^F) and d at 0. The running max is an integer, so rescaling the
sum is a shift. The beat is the unit of the max update: a beat's terms are taken at the
beat's new max, which is what P lanes working in parallel can do. The bits therefore
depend on P (rounding in the rescale), and P = 1 is the classic element-serial online
softmax. A row of more than softmax_max_beats beats gets probability 0 everywhere and
its error flag set.

Three implementations give the same bits: `softmax_row_serial` (one element at a time,
plain Python), `softmax_row_vector_kernel` (one P-wide vector at a time, as a vector
processor runs it) and `softmax_rows` (many rows at once; compiled on large inputs).
"""

import dataclasses

import numpy as np

from vsq_accel.golden import arguments
from vsq_accel.golden.compute import compiled
from vsq_accel.spec.numerics import rhu, rhu_each
from vsq_accel.spec.tables import exp2_table

__all__ = ["SoftmaxResult", "softmax_rows", "softmax_start", "softmax_loop1",
           "softmax_loop2", "softmax_reciprocal",
           "softmax_exponentials", "softmax_row_serial", "softmax_row_vector_kernel",
           "softmax_base2", "softmax_base_e"]


@dataclasses.dataclass(frozen=True)
class SoftmaxResult:
    """Probabilities, the error flag, and loop 1's integer max m and sum d (which loop 2
    turns into the reciprocal); per row for `softmax_rows`, scalars for one row. An
    overlong row has m and d of an empty row."""

    probs: np.ndarray
    error: np.ndarray
    row_max: np.ndarray
    row_sum: np.ndarray


def _ceil_units(x, frac_bits):
    return -((-x) >> frac_bits)


def _exp2_terms(x, m, config, table):
    """term(x, m) for arrays. Shifts past E + 1 give 0, so they are clamped as in the
    hardware; masked logits above m (t < 0) give garbage that the callers discard."""
    frac_bits = config.softmax_frac_bits
    t = (m << frac_bits) - x
    shift = np.clip(t >> frac_bits, 0, config.softmax_exp_bits + 2)
    return rhu_each(table[t & ((1 << frac_bits) - 1)], shift)


def _check_row_input(logits, keep, config):
    logits = arguments.integers("logits", logits).astype(np.int64)
    keep = np.ones(logits.shape, bool) if keep is None else np.asarray(keep)
    if keep.dtype != bool:
        raise TypeError(f"keep must hold booleans (True: the logit counts), not {keep.dtype}")
    if logits.shape != keep.shape:
        raise ValueError(f"logits {logits.shape} and keep {keep.shape} differ in shape")
    low, high = config.softmax_logit_min, config.softmax_logit_max
    if logits.size and (logits.min() < low or logits.max() > high):
        raise ValueError(f"logits must be {config.softmax_logit_bits}-bit "
                         f"({low}..{high}), found {logits.min()}..{logits.max()}")
    return logits, keep


def softmax_rows(logits, keep, config):
    """SoftmaxResult of R rows of n logits each (keep None: all kept); probabilities are
    R x n int64. Vectorized over rows: one numpy step per beat for all rows together."""
    logits, keep = _check_row_input(logits, keep, config)
    if logits.ndim != 2:
        raise ValueError(f"expected rows x logits, got shape {logits.shape}")
    rows, length = logits.shape
    row_max, row_sum = softmax_start(rows, config)
    if -(-length // config.softmax_lanes) > config.softmax_max_beats:
        return SoftmaxResult(np.zeros(logits.shape, np.int64), np.ones(rows, bool),
                             row_max, row_sum)
    row_max, row_sum = softmax_loop1(logits, keep, row_max, row_sum, config)
    probs = softmax_loop2(logits, keep, row_max, row_sum, config)
    return SoftmaxResult(probs, np.zeros(rows, bool), row_max, row_sum)


def softmax_start(rows, config):
    """Loop 1's state before a row's first beat: m = ceil(-2^(W-1) / 2^F), d = 0."""
    start = _ceil_units(config.softmax_logit_min, config.softmax_frac_bits)
    return np.full(rows, start, np.int64), np.zeros(rows, np.int64)


def softmax_loop1(logits, keep, row_max, row_sum, config):
    """Continue loop 1 of R rows over more logits (R x n, n a multiple of P unless it
    ends the row); returns the new (m, d). Feeding a row in several parts gives the same
    bits as feeding it whole, which lets long rows stream through in blocks. Compiled
    on large inputs (`golden.kernels.softmax`, row by row as the unit walks its beats),
    numpy on small ones (see `golden.compute`)."""
    logits = np.ascontiguousarray(logits, np.int64)
    keep = np.ascontiguousarray(keep, bool)
    row_max, row_sum = np.asarray(row_max, np.int64), np.asarray(row_sum, np.int64)
    if compiled(logits.size):
        from vsq_accel.golden.kernels.softmax import loop1_rows  # numba only where it pays

        return loop1_rows(logits, keep, row_max, row_sum, exp2_table(config), config)
    return _loop1_numpy(logits, keep, row_max, row_sum, config)


def _loop1_numpy(logits, keep, row_max, row_sum, config):
    """Loop 1 for all rows at once. The running max only ever rises, and between two
    rises d just adds the beats' terms: so the max of every beat comes from one running
    maximum, every beat's terms at once, and the recurrence d = rhu(d, m' - m) + terms is
    stepped only where the max rose, for all rows together (a handful of steps on
    random rows)."""
    lanes, frac_bits = config.softmax_lanes, config.softmax_frac_bits
    x, kept = _pad_to_beats(logits, keep, lanes)
    rows, beats = len(x), x.shape[1] // lanes
    start = _ceil_units(config.softmax_logit_min, frac_bits)
    beat_max = np.where(kept, _ceil_units(x, frac_bits), start).reshape(rows, beats, lanes)
    running = np.maximum.accumulate(np.maximum(beat_max.max(axis=2), row_max[:, None]), 1)
    terms = _exp2_terms(x.reshape(rows, beats, lanes), running[:, :, None], config,
                        exp2_table(config))
    sums = np.cumsum(np.where(kept.reshape(rows, beats, lanes), terms, 0).sum(axis=2),
                     axis=1)
    previous = np.concatenate([row_max[:, None], running[:, :-1]], axis=1)
    # Steps: where the max rose, and the first beat; padded with "beats" (no step).
    rises = (running > previous) | (np.arange(beats) == 0)
    steps = np.sort(np.where(rises, np.arange(beats), beats), axis=1)
    sums = np.concatenate([np.zeros((rows, 1), np.int64), sums], axis=1)   # sums[:, b] = beats < b
    rescale = np.minimum(running - previous, 62)
    rescale = np.concatenate([rescale, np.zeros((rows, 1), np.int64)], axis=1)
    every_row = np.arange(rows)
    for index in range(int(rises.sum(axis=1).max(initial=0))):
        step = steps[:, index]
        stop = steps[:, index + 1] if index + 1 < steps.shape[1] else np.full(rows, beats)
        segment = sums[every_row, stop] - sums[every_row, step]
        row_sum = np.where(step < beats,
                           rhu_each(row_sum, rescale[every_row, step]) + segment, row_sum)
    return running[:, -1] if beats else row_max, row_sum


def softmax_loop2(logits, keep, row_max, row_sum, config):
    """Loop 2: probabilities of logits (R x n) from their rows' final (m, d)."""
    reciprocal = softmax_reciprocal(row_sum, config)
    shift = config.softmax_out_shift
    terms = softmax_exponentials(logits, keep, row_max, config)
    probs = np.minimum(rhu(terms * reciprocal[:, None], shift), config.softmax_out_max)
    return np.where(keep, probs, 0)


def softmax_reciprocal(row_sum, config):
    """r = floor(2^k / d) per row, 0 when nothing was kept."""
    return np.where(row_sum > 0, (1 << config.softmax_recip_shift) // np.maximum(row_sum, 1), 0)


def softmax_exponentials(logits, keep, row_max, config):
    """2^(x - m) with E fraction bits (loop 2 before the reciprocal); 0 where masked."""
    logits = np.ascontiguousarray(logits, np.int64)
    keep = np.ascontiguousarray(np.broadcast_to(keep, logits.shape), bool)
    row_max = np.asarray(row_max, np.int64)
    if compiled(logits.size):
        from vsq_accel.golden.kernels.softmax import exponential_rows

        return exponential_rows(logits, keep, row_max, exp2_table(config), config)
    return np.where(keep, _exp2_terms(logits, row_max[:, None], config, exp2_table(config)),
                    0)


def _pad_to_beats(logits, keep, lanes):
    rows, length = logits.shape
    padded = -(-length // lanes) * lanes
    x = np.zeros((rows, padded), np.int64)
    kept = np.zeros((rows, padded), bool)
    x[:, :length], kept[:, :length] = logits, keep
    return x, kept


def softmax_row_serial(logits, keep, config):
    """One row, one element at a time, in plain Python integers: a SoftmaxResult."""
    logits, keep = _check_row_input(logits, keep, config)
    lanes, frac_bits = config.softmax_lanes, config.softmax_frac_bits
    logits, keep = [int(v) for v in logits], [bool(v) for v in keep]
    m = -((-config.softmax_logit_min) >> frac_bits)
    d = 0
    if -(-len(logits) // lanes) > config.softmax_max_beats:
        return SoftmaxResult(np.zeros(len(logits), np.int64), True, m, d)
    table = [int(v) for v in exp2_table(config)]

    def term(x, m):
        t = (m << frac_bits) - x
        return rhu(table[t & ((1 << frac_bits) - 1)], t >> frac_bits)

    for start in range(0, len(logits), lanes):
        beat = range(start, min(start + lanes, len(logits)))
        m_new = m
        for i in beat:
            if keep[i]:
                m_new = max(m_new, -((-logits[i]) >> frac_bits))
        d = rhu(d, m_new - m)
        for i in beat:
            if keep[i]:
                d += term(logits[i], m_new)
        m = m_new
    reciprocal = (1 << config.softmax_recip_shift) // d if d else 0
    shift = config.softmax_out_shift
    probs = [min(rhu(term(x, m) * reciprocal, shift), config.softmax_out_max) if kept else 0
             for x, kept in zip(logits, keep)]
    return SoftmaxResult(np.array(probs, np.int64), False, m, d)


def softmax_row_vector_kernel(logits, keep, config):
    """One row as a vector processor runs it, a P-element chunk at a time (`rvv/softmax.c`
    is this in RVV 1.0 instructions, bit for bit); returns a SoftmaxResult."""
    logits, keep = _check_row_input(logits, keep, config)
    lanes = config.softmax_lanes
    start = _ceil_units(config.softmax_logit_min, config.softmax_frac_bits)
    m, d = start, 0
    if -(-len(logits) // lanes) > config.softmax_max_beats:
        return SoftmaxResult(np.zeros(len(logits), np.int64), True, m, d)
    table = exp2_table(config)
    for first in range(0, len(logits), lanes):
        x, k = logits[first:first + lanes], keep[first:first + lanes]
        m_new = max(m, int(np.where(k, _ceil_units(x, config.softmax_frac_bits), start).max()))
        d = rhu(d, min(m_new - m, config.softmax_sum_bits + 1))
        d += int(np.where(k, _exp2_terms(x, m_new, config, table), 0).sum())
        m = m_new
    reciprocal = (1 << config.softmax_recip_shift) // d if d else 0
    shift = config.softmax_out_shift
    probs = np.empty(len(logits), np.int64)
    for first in range(0, len(logits), lanes):
        x, k = logits[first:first + lanes], keep[first:first + lanes]
        scaled = rhu(_exp2_terms(x, m, config, table) * reciprocal, shift)
        probs[first:first + lanes] = np.where(k, np.minimum(scaled, config.softmax_out_max), 0)
    return SoftmaxResult(probs, False, m, d)


def softmax_base2(values, keep=None):
    """Exact base-2 softmax of real values along the last axis; masked entries get 0."""
    values = np.asarray(values, dtype=np.float64)
    keep = np.ones(values.shape, bool) if keep is None else np.asarray(keep, bool)
    shifted = np.where(keep, values, -np.inf)
    top = shifted.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    powers = np.where(keep, np.exp2(shifted - top), 0.0)
    total = powers.sum(axis=-1, keepdims=True)
    return np.divide(powers, total, out=np.zeros_like(powers), where=total > 0)


def softmax_base_e(values, keep=None):
    """Exact softmax (base e) along the last axis; masked entries get 0."""
    return softmax_base2(np.asarray(values, dtype=np.float64) * np.log2(np.e), keep)
