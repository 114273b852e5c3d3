"""The PPU's integer GELU (`golden.gelu`) against x Phi(x) in float, from first
principles: the error bound of its table, its ends, its roundings."""

import math

import numpy as np
import pytest

from vsq_accel.golden.gelu import PHI_ERROR, gelu, gelu_unit
from vsq_accel.spec.tables import GELU_FRAC_BITS, GELU_PHI_BITS, gelu_table


def exact(x):
    return np.array([v * (1 + math.erf(v / math.sqrt(2))) / 2 for v in x])


@pytest.mark.parametrize("shift", [0, 4, 8, 11, 15, 20, 62])
def test_every_16_bit_y_is_within_the_bound(shift):
    """Every y of 16 bits: |g - GELU(x)| <= |x| * PHI_ERROR + half a unit (the output's
    rounding) + the tail past the table, x Phi(x) < 4 Phi(-4) below -4 and x (1 -
    Phi(x)) < 4 (1 - Phi(4)) above 4; and |g| <= |y|, so g keeps y's width."""
    y = np.arange(-(1 << 15), 1 << 15)
    unit = 2.0 ** -shift
    x = y * unit
    g = gelu(y, shift)
    tail = 4 * (1 + math.erf(-4 / math.sqrt(2))) / 2
    error = np.abs(g * unit - exact(x))
    assert np.all(error <= np.abs(x) * PHI_ERROR + unit / 2 + tail + 1e-12), error.max()
    assert np.all(np.abs(g) <= np.abs(y))


def test_the_ends_are_zero_and_the_identity():
    """Past the table's ends GELU is 0 below and y itself above (T[0] = 0, T[64] = 1.0),
    the most negative y included."""
    table = gelu_table()
    assert table[0] == 0 and table[-1] == 1 << GELU_PHI_BITS
    assert np.all(np.diff(table) >= 0), "Phi is monotonic"
    y = np.array([-(1 << 15), -(1 << 14), 1 << 14, (1 << 15) - 1])
    assert gelu(y, 8).tolist() == [0, 0, 1 << 14, (1 << 15) - 1]
    assert gelu(np.array([0]), 0).tolist() == [0]


def test_ties_round_half_up():
    """x exactly halfway between two steps of 2^-Q rounds up (toward +inf for both
    signs), and so does y * Phi / 2^P at exactly half a unit."""
    half_step = GELU_FRAC_BITS + 1            # y = +-1 is half a step of x
    # y = 1: x rounds up to one step, Phi = T[32] + rhu(rise * 1, 5) = 2048 + 6, and
    # 1 * 2054 / 4096 rounds to 1; y = -1: x rounds up to 0, Phi = 1/2, -1/2 rounds to 0
    assert gelu(np.array([1, -1]), half_step).tolist() == [1, 0]
    # x rounds to 0 for both; y * Phi = +-1/2 exactly: rounded up to 1 and to 0
    assert gelu(np.array([1, -1]), GELU_FRAC_BITS + 10).tolist() == [1, 0]


def test_the_unit_is_the_power_of_two_at_or_above():
    assert gelu_unit(1 / 3000) == (2.0 ** -11, 11)
    assert gelu_unit(2.0 ** -11) == (2.0 ** -11, 11)
    assert gelu_unit(5.0) == (1.0, 0)
    assert gelu_unit(1e-30) == (2.0 ** -63, 63)
