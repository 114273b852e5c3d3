"""The numeric tables that the golden model and the RTL share: the softmax's 2^-f and the
requantizer's reciprocals, each computed once here from the configuration."""

import numpy as np

__all__ = ["exp2_table", "reciprocal_table"]


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
