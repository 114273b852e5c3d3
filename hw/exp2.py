"""2^(x - m) of a base-2 logit against an integer max: a table for the fraction, a shift
for the integer part; the same expression serves both loops of the softmax."""

from amaranth import Array, Const, Mux

from golden.softmax import exp2_table
from hw.arith import rhu_variable

__all__ = ["ceil_units", "exp2_term"]


def ceil_units(logit, config):
    """ceil(x / 2^F): the logit rounded up to whole units."""
    return -((-logit) >> config.softmax_frac_bits)


def exp2_term(logit, row_max, config):
    """rhu(LUT[t mod 2^F], t >> F) with t = m * 2^F - x >= 0 (E fraction bits).

    Shifts past E + 1 give 0 whatever the table entry, so the shift is clamped to E + 2
    and stays a few bits wide.
    """
    frac_bits, exp_bits = config.softmax_frac_bits, config.softmax_exp_bits
    t = ((row_max << frac_bits) - logit).as_unsigned()
    table = exp2_table(config)
    if frac_bits:
        fraction = Array(Const(int(v), exp_bits + 1) for v in table)[t[:frac_bits]]
    else:
        fraction = Const(int(table[0]), exp_bits + 1)
    whole = t >> frac_bits
    shift = Mux(whole > exp_bits + 2, exp_bits + 2, whole[:(exp_bits + 2).bit_length()])
    return rhu_variable(fraction, shift)
