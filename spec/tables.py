"""The numeric tables that the golden model and the RTL share: the softmax's 2^-f and the
requantizer's reciprocals, each computed once here from the configuration, and the
PPU's GELU table, the same for every configuration."""

import math

import numpy as np

__all__ = ["exp2_table", "reciprocal_table", "GELU_FRAC_BITS", "GELU_SEGMENT_BITS",
           "GELU_RANGE", "GELU_PHI_BITS", "gelu_table"]

# The PPU's GELU (`golden.gelu`): x rounded to GELU_FRAC_BITS fraction bits, Phi(x) from
# a table of 2^GELU_SEGMENT_BITS points per unit over [-GELU_RANGE, GELU_RANGE] with
# GELU_PHI_BITS fraction bits, linearly interpolated between them.
GELU_FRAC_BITS = 8
GELU_SEGMENT_BITS = 3
GELU_RANGE = 4
GELU_PHI_BITS = 12


def exp2_table(config):
    """LUT[f] = 2^(-f / 2^F) with E fraction bits, rounded to nearest (never a tie)."""
    frac_bits, exp_bits = config.softmax_frac_bits, config.softmax_exp_bits
    return np.array([int(np.floor(2.0 ** (exp_bits - f / (1 << frac_bits)) + 0.5))
                     for f in range(1 << frac_bits)], dtype=np.int64)


def reciprocal_table(config):
    """floor(2^R / s) for every scale s = 1 .. 2^M - 1 (index 0 unused): the requantizer's
    one reciprocal per vector, looked up instead of divided."""
    scales = np.arange(1 << config.scale_bits)
    return np.where(scales > 0, (1 << config.ppu_recip_bits) // np.maximum(scales, 1), 0)


def gelu_table():
    """T[i] = Phi(x_i) = (1 + erf(x_i / sqrt 2)) / 2 at x_i = -GELU_RANGE + i / 2^k, i = 0 ..
    2 GELU_RANGE 2^k, with GELU_PHI_BITS fraction bits, rounded to nearest: its ends are
    exactly 0 and 1.0, so that x beyond the range gives GELU(x) = 0 or x."""
    points = 2 * GELU_RANGE << GELU_SEGMENT_BITS
    table = np.array([math.floor((1 + math.erf((i / (1 << GELU_SEGMENT_BITS) - GELU_RANGE)
                                               / math.sqrt(2))) / 2 * (1 << GELU_PHI_BITS)
                                 + 0.5) for i in range(points + 1)], dtype=np.int64)
    assert table[0] == 0 and table[-1] == 1 << GELU_PHI_BITS
    return table
