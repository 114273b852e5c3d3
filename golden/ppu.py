"""Post-processing unit: from accumulators to the next operation's integers.

Float scales become unsigned fixed-point multipliers with a right shift, computed once
per tensor (or per column) on the host; the PPU itself only multiplies, shifts with
round half up, adds and saturates. Widths, with A = acc_bits, U = ppu_mult_bits,
Y = ppu_bits, N = data_bits:

    column scaling    acc (A) * mult (U) -> A + U bits, rhu by the column's shift,
                      + bias, optional ReLU, saturated to Y bits: y
    to VSQ            per V-element vector: amax = max|y| (Y - 1 bits);
                      s_q = ceil(amax * mult_s >> shift_s) clamped to 1..2^M - 1;
                      one reciprocal per vector, floor(2^16 / s_q) (17 bits);
                      x = clip(rhu(y * mult_e * recip, shift_e + 16), +-(2^(N-1) - 1))
                      from Y + U + 17 bits
    to INT-N          x = clip(rhu(y * mult, shift), +-(2^(N-1) - 1))
    to logits         clip(rhu(acc * mult, shift), -128, 127), log2(e)/sqrt(dk) * 2^F folded
                      into mult
    row scaling       acc (A) * r (recip_bits) * mult (U), for P V's rows divided by the
                      softmax denominator d through r = floor(2^k / d)
Every intermediate fits int64 with room to spare (the largest, Y + U + 17 <= 65 only at
the widest settings, is checked).
"""

import numpy as np

from golden.numerics import rhu, rhu_each, saturate
from golden.quantize import QuantizedRows

__all__ = ["RECIPROCAL_BITS", "fixed_point", "scale_columns", "requantize", "to_logits",
           "exponentials_to_operand"]

# Precision of the per-vector reciprocal floor(2^16 / s_q) of the requantizer.
RECIPROCAL_BITS = 16


def fixed_point(scale, bits):
    """Unsigned (mult, shift) with mult / 2^shift ~ scale and mult in [2^(bits-1), 2^bits)
    (0, 0 for a zero scale). Works elementwise on arrays."""
    scale = np.asarray(scale, dtype=np.float64)
    if np.any(scale < 0) or not np.all(np.isfinite(scale)):
        raise ValueError("scales must be finite and not negative")
    safe = np.where(scale > 0, scale, 1.0)
    exponent = np.floor(np.log2(safe)).astype(np.int64)
    shift = bits - 1 - exponent
    mult = np.floor(safe * np.exp2(shift.astype(np.float64)) + 0.5).astype(np.int64)
    carry = mult >= (1 << bits)
    mult, shift = np.where(carry, mult >> 1, mult), np.where(carry, shift - 1, shift)
    if np.any(shift < 0):
        raise ValueError(f"a scale of {scale.max():.3g} does not fit a {bits}-bit "
                         f"multiplier")
    # Below 2^-47 a scale turns every product of a value under 2^40 into less than half
    # a unit, which rounds to 0: such scales are 0.
    usable = (scale > 0) & (shift <= 62)
    return np.where(usable, mult, 0), np.where(usable, shift, 0)


def scale_columns(acc, acc_unit, y_unit, bias, relu, config, row_factor=None):
    """y = saturate(rhu(acc * mult_c, shift_c) + bias_c), ReLU'd if asked, in units of
    y_unit; mult_c / 2^shift_c ~ acc_unit_c / y_unit. Returns (y, bias_c as integers).

    row_factor (integers r_i, r_i / 2^row_shift the row's scale) multiplies row i too:
    acc (A) * r (row_bits) * mult (U) stays below 2^63 for A + row_bits + U <= 62.
    """
    unit = np.broadcast_to(acc_unit, acc.shape[1:]) / y_unit
    if row_factor is not None:
        factor, row_shift = row_factor
        unit = unit / 2.0 ** row_shift
        acc = acc * np.asarray(factor)[:, None]
    mult, shift = fixed_point(unit, config.ppu_mult_bits)
    scaled = rhu_each(acc * mult, shift)
    bias_int = np.zeros(acc.shape[1], np.int64) if bias is None else saturate(
        np.floor(np.asarray(bias) / y_unit + 0.5).astype(np.int64), config.ppu_bits)
    y = scaled + bias_int
    if relu:
        y = np.maximum(y, 0)
    return saturate(y, config.ppu_bits), bias_int


def requantize(y, y_unit, gamma, config):
    """y (rows x K, in units of y_unit) to the array's operand format, vectors along the
    last axis: VSQ with per-vector scales computed here, or INT-N; gamma is the coarse
    scale of the result (from calibration)."""
    y = np.asarray(y, dtype=np.int64)
    columns, size = y.shape[1], config.vector_size
    y = np.pad(y, ((0, 0), (0, -columns % size)))       # whole vectors, as the quantizer
    qmax = (1 << (config.data_bits - 1)) - 1
    if not config.vector_scales:
        mult, shift = fixed_point(y_unit / gamma, config.ppu_mult_bits)
        values = np.clip(rhu(y * mult, int(shift)), -qmax, qmax)
        return QuantizedRows(values, None, np.full((len(y), 1), float(gamma)), size, columns)
    vectors = y.reshape(len(y), -1, size)
    scale_mult, scale_shift = fixed_point(y_unit / (qmax * gamma), config.ppu_mult_bits)
    element_mult, element_shift = fixed_point(y_unit / gamma, config.ppu_mult_bits)
    if config.ppu_bits + config.ppu_mult_bits + RECIPROCAL_BITS + 1 > 63:
        raise ValueError("ppu_bits + ppu_mult_bits is too wide for the golden model")
    amax = np.abs(vectors).max(axis=2)
    scale_shift = int(scale_shift)
    scales = np.clip((amax * scale_mult + (1 << scale_shift) - 1) >> scale_shift,
                     1, config.scale_max)
    reciprocal = (1 << RECIPROCAL_BITS) // scales
    values = rhu(vectors * element_mult * reciprocal[:, :, None],
                 int(element_shift) + RECIPROCAL_BITS)
    values = np.clip(values, -qmax, qmax).reshape(len(y), -1)
    return QuantizedRows(values, scales, np.full((len(y), 1), float(gamma)), size, columns)


def to_logits(acc, acc_unit, factor, config):
    """int8 base-2 logits with F fraction bits: acc * acc_unit * factor, rounded half up."""
    mult, shift = fixed_point(acc_unit * factor * (1 << config.softmax_frac_bits),
                              config.ppu_mult_bits)
    return np.clip(rhu(acc * mult, int(shift)), -128, 127)


def exponentials_to_operand(exponentials, config):
    """Softmax exponentials 2^(x - m) (E fraction bits, at most 1.0) as the left operand
    of P V, vectors along the keys. The coarse scale is fixed, since no exponential
    exceeds 1.0: the row's 1 / d is applied to P V's result instead."""
    qmax = (1 << (config.data_bits - 1)) - 1
    gamma = 1.0 / qmax
    if config.vector_scales:
        gamma /= config.scale_max
    return requantize(exponentials, 2.0 ** -config.softmax_exp_bits, gamma, config)
