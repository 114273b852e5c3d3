"""Post-processing unit, device side: from accumulators to the next operation's integers.

Integer parameters only; `golden.ppu_params` derives them from float scales on the host,
once per tensor or column. The RTL PPU is held to exactly these functions. Widths, with
A = acc_bits, U = ppu_mult_bits, Y = ppu_bits, R = ppu_recip_bits, N = data_bits:

    scaling       y = saturate(relu?(rhu(acc * mult_c, shift_c) + bias_c), out_bits):
                  acc (A) * mult (U), parameters per output column c (or per output
                  row, for a result produced transposed); out_bits is Y, or the logit
                  width for base-2 logits (log2(e)/sqrt(dk) * 2^F folded into mult)
    row scaling   acc (A) * r_i (softmax_recip_bits) * mult_c: P V's rows divided by the
                  softmax denominator through r = floor(2^k / d)
    to VSQ        per V-element vector of a row: amax = max|y|;
                  s_q = clamp(ceil(amax * scale_mult / 2^scale_shift), 1, 2^M - 1);
                  one reciprocal per vector from a table, floor(2^R / s_q);
                  x = clip(rhu(y * element_mult * recip, element_shift + R), +-(2^(N-1) - 1))
    to INT-N      x = clip(rhu(y * element_mult, element_shift), +-(2^(N-1) - 1))
Every product is exact: in int64 where its operands' magnitudes prove it fits (compiled,
`golden.kernels.ppu`, on large inputs), else in numpy arrays of Python's unbounded
integers (the widest configurations, e.g. a 40-bit accumulator times a 24-bit
reciprocal times a 24-bit multiplier, need 87 bits).
"""

import dataclasses

import numpy as np

from vsq_accel.golden import arguments
from vsq_accel.golden.compute import compiled
from vsq_accel.golden.gelu import gelu
from vsq_accel.spec.numerics import rhu, rhu_each, saturate
from vsq_accel.spec.tables import reciprocal_table

__all__ = ["Scaling", "Requantization", "scale", "requantize_rows", "MAX_SHIFT"]

# The longest rounding shift: the host's fixed-point scales never shift further (a scale
# below 2^-47 rounds every product to 0 and is 0), and the PPU's shift field holds it.
MAX_SHIFT = 62


@dataclasses.dataclass(frozen=True)
class Scaling:
    """Per output column (or row) c: y = rhu(acc * mult[c], shift[c]) + bias[c]."""

    mult: np.ndarray
    shift: np.ndarray
    bias: np.ndarray

    def take(self, index):
        """The parameters of columns `index` (a slice or an index array)."""
        return Scaling(self.mult[index], self.shift[index], self.bias[index])


@dataclasses.dataclass(frozen=True)
class Requantization:
    """Per tensor: element_mult / 2^element_shift ~ y's unit / gamma, and for VSQ
    scale_mult / 2^scale_shift ~ y's unit / (qmax * gamma)."""

    element_mult: int
    element_shift: int
    scale_mult: int = 0
    scale_shift: int = 0


def _fits_int64(*factors):
    """Whether the product of the factors' largest magnitudes, rounded, fits int64."""
    bound = 1
    for factor in factors:
        factor = np.asarray(factor, dtype=np.int64)
        if factor.size:
            bound *= max(-int(factor.min()), int(factor.max()))
    return bound < 1 << 62


def _exact(*factors):
    """The factors as int64 arrays if their product and its rounding fit int64, else as
    arrays of Python integers."""
    factors = [np.asarray(f, dtype=np.int64) for f in factors]
    return factors if _fits_int64(*factors) else [f.astype(object) for f in factors]


def scale(acc, scaling, relu, out_bits, row_factor=None, per_row=False, gelu_shift=None):
    """y (rows x columns) from accumulators; `row_factor` multiplies row i by r_i first.
    With `per_row` the parameters are indexed by row (a result produced transposed).
    With `gelu_shift` s, y (of unit 2^-s) then goes through the GELU."""
    y = _scale(acc, scaling, relu, out_bits, row_factor, per_row)
    return y if gelu_shift is None else gelu(y, gelu_shift)


def _scale(acc, scaling, relu, out_bits, row_factor, per_row):
    acc = arguments.integers("acc", acc, ndim=2).astype(np.int64, copy=False)
    arguments.instance("scaling", scaling, Scaling)
    arguments.integer("out_bits", out_bits, 2, 64)
    row = (np.ones(len(acc), np.int64) if row_factor is None
           else arguments.integers("row_factor", row_factor, ndim=1))
    mult, shift, bias = (np.asarray(v, dtype=np.int64)
                         for v in (scaling.mult, scaling.shift, scaling.bias))
    arguments.integer_array("scaling.shift", shift, 0, MAX_SHIFT)
    if per_row:
        mult, shift, bias = mult[:, None], shift[:, None], bias[:, None]
    if compiled(acc.size) and _fits_int64(acc, row, mult):
        from vsq_accel.golden.kernels.ppu import scale_rows  # numba only where it pays

        return scale_rows(acc, row, mult.reshape(-1), shift.reshape(-1), bias.reshape(-1),
                          relu, out_bits, per_row)
    acc, row, mult = _exact(acc, row, mult)
    y = rhu_each(acc * row[:, None] * mult, shift) + bias
    if relu:
        y = np.maximum(y, 0)
    return saturate(y, out_bits).astype(np.int64)


def requantize_rows(y, requantization, config):
    """y (rows x K integers) to the array's operand format, vectors along each row (K
    padded with zeros to whole vectors): (values, scales), scales None without vector
    scales."""
    y = arguments.integers("y", y, ndim=2).astype(np.int64, copy=False)
    arguments.instance("requantization", requantization, Requantization)
    size = config.vector_size
    if y.shape[1] % size:
        y = np.pad(y, ((0, 0), (0, -y.shape[1] % size)))
    qmax = config.data_max
    element_mult, element_shift = requantization.element_mult, requantization.element_shift
    if not config.vector_scales:
        y, mult = _exact(y, element_mult)
        return np.clip(rhu(y * mult, element_shift), -qmax, qmax).astype(np.int64), None
    table = reciprocal_table(config)
    if compiled(y.size) and _fits_int64(y, table, element_mult):
        from vsq_accel.golden.kernels.ppu import requantize_vsq_rows

        return requantize_vsq_rows(y, requantization, table, config)
    vectors = y.reshape(len(y), -1, size)
    amax = np.abs(vectors).max(axis=2)
    scale_shift = requantization.scale_shift
    scales = np.clip((amax * requantization.scale_mult + (1 << scale_shift) - 1) >> scale_shift,
                     1, config.scale_max)
    reciprocal = table[scales]
    vectors, reciprocal, mult = _exact(vectors, reciprocal, element_mult)
    values = rhu(vectors * mult * reciprocal[:, :, None], element_shift + config.ppu_recip_bits)
    return np.clip(values, -qmax, qmax).astype(np.int64).reshape(len(y), -1), scales
