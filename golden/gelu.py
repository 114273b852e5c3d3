"""The PPU's integer GELU, GELU(x) = x Phi(x), applied to y in y's own unit: the
requantization after it is unchanged, and the unit must be a power of two, 2^-s (the
compiler picks it so, and the MATMUL carries s as `gelu_shift`).

With Q = GELU_FRAC_BITS, k = GELU_SEGMENT_BITS, P = GELU_PHI_BITS and the table T of
`spec.tables.gelu_table`:

    z = rhu(y * 2^Q, s)                        x rounded to Q fraction bits
    u = clamp(z + GELU_RANGE * 2^Q, 0, 2 GELU_RANGE 2^Q)
    i, f = u >> (Q - k), u mod 2^(Q - k)       the table's segment, the place in it
    Phi = T[i] + rhu((T[i + 1] - T[i]) * f, Q - k)      (T[i + 1] = T[i] at the end)
    g = rhu(y * Phi, P)

A table of points and one small multiply rather than a polynomial: Phi is smooth and
bounded, so 65 points interpolated keep |Phi error| under 1.5e-3 (x's rounding 7.8e-4,
the interpolation 4.7e-4, the roundings 2.4e-4), and the rest is y times a 13-bit
factor. |g| <= |y|, so g keeps y's width.
"""

import numpy as np

from vsq_accel.spec.commands import SHIFT_BITS
from vsq_accel.spec.numerics import rhu
from vsq_accel.spec.tables import (GELU_FRAC_BITS, GELU_PHI_BITS, GELU_RANGE,
                                   GELU_SEGMENT_BITS, gelu_table)

__all__ = ["gelu", "gelu_unit", "PHI_ERROR"]

# The largest error of the interpolated Phi, from the bounds above: x rounded by at most
# 2^-(Q+1) times Phi's largest slope 1/sqrt(2 pi), the chord's error h^2/8 max|Phi''|
# with h = 2^-k and max|Phi''| = phi(1) = 0.242, the table's and the interpolation's
# roundings 2^-(P+1) each.
PHI_ERROR = (2.0 ** -(GELU_FRAC_BITS + 1) / np.sqrt(2 * np.pi)
             + 2.0 ** (-2 * GELU_SEGMENT_BITS) / 8 * 0.242 + 2.0 ** -GELU_PHI_BITS)

_TABLE = np.append(gelu_table(), gelu_table()[-1])   # T[i + 1] at the last point


def gelu(y, shift):
    """GELU of integers y whose unit is 2^-shift, in the same unit."""
    y = np.asarray(y, dtype=np.int64)
    span = GELU_RANGE << GELU_FRAC_BITS
    u = np.clip(rhu(y << GELU_FRAC_BITS, int(shift)) + span, 0, 2 * span)
    place_bits = GELU_FRAC_BITS - GELU_SEGMENT_BITS
    index, place = u >> place_bits, u & ((1 << place_bits) - 1)
    phi = _TABLE[index] + rhu((_TABLE[index + 1] - _TABLE[index]) * place, place_bits)
    return rhu(y * phi, GELU_PHI_BITS)


def gelu_unit(unit):
    """(2^-s, s): the power of two at or above a calibrated unit, so that y keeps the
    calibrated peak, with s in the shift's range (a unit above 1 is 1: y saturates)."""
    shift = min(max(-int(np.ceil(np.log2(unit))), 0), (1 << SHIFT_BITS) - 1)
    return 2.0 ** -shift, shift
