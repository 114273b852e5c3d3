"""Post-processing unit, host side: float scales to the device's integer parameters.

Each float factor becomes an unsigned fixed-point multiplier with a right shift
(`fixed_point`), computed once per tensor or column; `golden.ppu` then works on
integers alone. The float-level helpers at the end (`scale_columns`, `requantize`,
`to_logits`, `exponentials_to_operand`) are the two halves composed, for callers that
hold float units.
"""

import numpy as np

from vsq_accel.golden.ppu import MAX_SHIFT, Requantization, Scaling, requantize_rows, scale
from vsq_accel.golden.quantize import QuantizedRows

__all__ = ["fixed_point", "column_scaling", "logit_scaling", "requantization",
           "exponential_requantization", "scale_columns", "requantize", "requantize_float",
           "float_to_y", "to_logits", "exponentials_to_operand"]


def fixed_point(scale_value, bits):
    """Unsigned (mult, shift) with mult / 2^shift ~ scale and mult in [2^(bits-1), 2^bits)
    (0, 0 for a zero scale). Works elementwise on arrays."""
    scale_value = np.asarray(scale_value, dtype=np.float64)
    if np.any(scale_value < 0) or not np.all(np.isfinite(scale_value)):
        raise ValueError("scales must be finite and not negative")
    safe = np.where(scale_value > 0, scale_value, 1.0)
    exponent = np.floor(np.log2(safe)).astype(np.int64)
    shift = bits - 1 - exponent
    mult = np.floor(safe * np.exp2(shift.astype(np.float64)) + 0.5).astype(np.int64)
    carry = mult >= (1 << bits)
    mult, shift = np.where(carry, mult >> 1, mult), np.where(carry, shift - 1, shift)
    if np.any(shift < 0):
        raise ValueError(f"a scale of {scale_value.max():.3g} does not fit a {bits}-bit "
                         f"multiplier")
    # Below 2^-47 a scale turns every product of a value under 2^40 into less than half
    # a unit, which rounds to 0: such scales are 0.
    usable = (scale_value > 0) & (shift <= MAX_SHIFT)
    return np.where(usable, mult, 0), np.where(usable, shift, 0)


def column_scaling(acc_unit, y_unit, bias, columns, config, row_shift=0):
    """Scaling of `columns` outputs with accumulator units acc_unit (scalar or per column)
    into y's unit; bias (float, per column, or None) rounded half up to that unit and
    saturated to ppu_bits. row_shift: the row factor r_i stands for r_i / 2^row_shift."""
    unit = np.broadcast_to(np.asarray(acc_unit, dtype=np.float64), (columns,))
    mult, shift = fixed_point(unit / y_unit / 2.0 ** row_shift, config.ppu_mult_bits)
    bias_int = np.zeros(columns, np.int64)
    if bias is not None:
        limit = 1 << (config.ppu_bits - 1)
        bias_int = np.clip(np.floor(np.asarray(bias) / y_unit + 0.5), -limit,
                           limit - 1).astype(np.int64)
    return Scaling(mult, shift, bias_int)


def logit_scaling(acc_unit, factor, columns, config):
    """Scaling to base-2 logits with F fraction bits: acc * acc_unit * factor * 2^F."""
    return column_scaling(acc_unit * factor, 2.0 ** -config.softmax_frac_bits, None, columns,
                          config)


def requantization(y_unit, gamma, config):
    """Requantization of y (in y_unit) to operands of coarse scale gamma."""
    element_mult, element_shift = fixed_point(y_unit / gamma, config.ppu_mult_bits)
    if not config.vector_scales:
        return Requantization(int(element_mult), int(element_shift))
    scale_mult, scale_shift = fixed_point(y_unit / (config.data_max * gamma),
                                          config.ppu_mult_bits)
    return Requantization(int(element_mult), int(element_shift), int(scale_mult),
                          int(scale_shift))


def exponential_requantization(config):
    """(Requantization, gamma) of the softmax exponentials 2^(x - m) (E fraction bits, at
    most 1.0): the coarse scale is fixed, since no exponential exceeds 1.0; the row's
    1 / d is applied to P V's result instead."""
    gamma = 1.0 / config.data_max
    if config.vector_scales:
        gamma /= config.scale_max
    return requantization(2.0 ** -config.softmax_exp_bits, gamma, config), gamma


def scale_columns(acc, acc_unit, y_unit, bias, relu, config, row_factor=None, gelu_shift=None):
    """y = saturate(rhu(acc * mult_c, shift_c) + bias_c), ReLU'd if asked, in units of
    y_unit; mult_c / 2^shift_c ~ acc_unit_c / y_unit. Returns (y, bias_c as integers).
    row_factor (r_i, row_shift): row i is multiplied by r_i / 2^row_shift too. With
    `gelu_shift` (y_unit = 2^-gelu_shift), y then goes through the PPU's GELU."""
    factor, row_shift = (None, 0) if row_factor is None else row_factor
    scaling = column_scaling(acc_unit, y_unit, bias, acc.shape[1], config, row_shift)
    return (scale(acc, scaling, relu, config.ppu_bits, factor, gelu_shift=gelu_shift),
            scaling.bias)


def requantize(y, y_unit, gamma, config):
    """y (rows x K, in units of y_unit) to the array's operand format, vectors along the
    last axis: VSQ with per-vector scales computed here, or INT-N; gamma is the coarse
    scale of the result (from calibration)."""
    values, scales = requantize_rows(y, requantization(y_unit, gamma, config), config)
    return QuantizedRows(values, scales, np.full((len(values), 1), float(gamma)),
                         config.vector_size, np.shape(y)[1])


def requantize_float(values, y_unit, gamma, config):
    """Float values (a step the host ran, e.g. a GELU) as the PPU would have them: y in
    y_unit, rounded half up and saturated to ppu_bits, then requantized as `requantize`."""
    return requantize(float_to_y(values, y_unit, config), y_unit, gamma, config)


def float_to_y(values, y_unit, config):
    """Float values as the PPU's y: in y_unit, rounded half up, saturated to ppu_bits."""
    limit = 1 << (config.ppu_bits - 1)
    return np.clip(np.floor(np.asarray(values, dtype=np.float64) / y_unit + 0.5), -limit,
                   limit - 1).astype(np.int64)


def to_logits(acc, acc_unit, factor, config):
    """Base-2 logits with F fraction bits: acc * acc_unit * factor, rounded half up and
    saturated to softmax_logit_bits."""
    scaling = logit_scaling(acc_unit, factor, np.shape(acc)[1], config)
    return scale(acc, scaling, False, config.softmax_logit_bits)


def exponentials_to_operand(exponentials, config):
    """Softmax exponentials 2^(x - m) (E fraction bits) as the left operand of P V,
    vectors along the keys, with the fixed coarse scale of `exponential_requantization`."""
    params, gamma = exponential_requantization(config)
    values, scales = requantize_rows(exponentials, params, config)
    return QuantizedRows(values, scales, np.full((len(values), 1), gamma),
                         config.vector_size, np.shape(exponentials)[1])
