"""Arithmetic building blocks shared by the datapath components (Amaranth expressions)."""

from amaranth import Mux

__all__ = ["tree_sum", "tree_max", "saturate", "rhu_variable"]


def tree_sum(values):
    """Balanced adder tree: depth log2(len) instead of a chain of len - 1 adds."""
    return _tree(values, lambda a, b: a + b)


def tree_max(values):
    """Balanced tree of comparators."""
    return _tree(values, lambda a, b: Mux(a > b, a, b))


def _tree(values, combine):
    values = list(values)
    while len(values) > 1:
        pairs = [combine(a, b) for a, b in zip(values[0::2], values[1::2])]
        values = pairs + values[len(pairs) * 2:]
    return values[0]


def saturate(value, bits):
    """Clamp to the range of a signed `bits`-bit integer."""
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return Mux(value > high, high, Mux(value < low, low, value))


def rhu_variable(value, shift):
    """Round half up by a shift held in a signal: ((2v >> s) + 1) >> 1, which equals
    (v + 2^(s-1)) >> s for s >= 1 and v for s = 0, with no adder that depends on s."""
    return (((value << 1) >> shift) + 1) >> 1
