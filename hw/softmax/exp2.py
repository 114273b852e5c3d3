"""2^(x - m) of a base-2 logit against an integer max: a table for the fraction, a shift
for the integer part; the same expressions serve both loops of the softmax, in three
pipeline stages (the distance, the table entry and shift, the rounded term)."""

from amaranth import Const, Mux

from vsq_accel.hw.lib.arith import rhu_variable, table_lookup
from vsq_accel.spec.tables import exp2_table

__all__ = ["ceil_units", "exp2_distance", "exp2_parts", "exp2_of_parts"]


def ceil_units(logit, config):
    """ceil(x / 2^F): the logit rounded up to whole units."""
    return -((-logit) >> config.softmax_frac_bits)


def exp2_distance(logit, row_max, config):
    """t = m * 2^F - x >= 0: how far the logit lies below the max, in logit units."""
    return ((row_max << config.softmax_frac_bits) - logit).as_unsigned()


def exp2_parts(t, config):
    """The two halves of 2^(-t / 2^F) with E fraction bits, rhu(LUT[t mod 2^F], t >> F):
    the table entry and the shift, clamped to E + 2 (shifts past E + 1 give 0 whatever
    the entry, so the shift stays a few bits wide). `exp2_of_parts` finishes it."""
    frac_bits, exp_bits = config.softmax_frac_bits, config.softmax_exp_bits
    fraction = table_lookup([Const(int(v), exp_bits + 1) for v in exp2_table(config)],
                             t[:frac_bits])
    whole = t >> frac_bits
    shift = Mux(whole > exp_bits + 2, exp_bits + 2, whole[:(exp_bits + 2).bit_length()])
    return fraction, shift


def exp2_of_parts(fraction, shift):
    """rhu(fraction, shift): the term, a pipeline stage after `exp2_parts`."""
    return rhu_variable(fraction, shift)
