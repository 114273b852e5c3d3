"""Arithmetic building blocks shared by the datapath components (Amaranth expressions)."""

from amaranth import Cat, Const, Mux, Value

__all__ = ["equals", "add", "larger", "tree", "tree_sum", "saturate", "clip_symmetric", "rhu_variable",
           "shifted_with_half", "round_half_up", "table_lookup"]


def equals(value, constant):
    """value == constant; against 0 as a reduction, which Yosys writes as `!x` for a
    comparison (Verilator's lint rejects a logical not of a vector)."""
    return ~value.any() if int(constant) == 0 else value == constant


def add(a, b):
    return a + b


def larger(a, b):
    return Mux(a > b, a, b)


def tree(values, combine, levels=None):
    """The first `levels` levels (all by default) of a balanced tree of `combine`: depth
    log2(len) instead of a chain of len - 1; returns the partial results."""
    values = list(values)
    while len(values) > 1 and levels != 0:
        pairs = [combine(a, b) for a, b in zip(values[0::2], values[1::2])]
        values = pairs + values[len(pairs) * 2:]
        levels = None if levels is None else levels - 1
    return values


def tree_sum(values):
    """Balanced adder tree."""
    return tree(values, add)[0]


def saturate(value, bits):
    """Clamp a signed value to the range of a signed `bits`-bit integer. In range means
    every bit from bits - 1 up equals the sign: a reduction of those bits (LUTs), not a
    comparison (a carry chain as long as the value, the PPU's longest path)."""
    value = Value.cast(value)
    if not value.shape().signed:
        value = Cat(value, Const(0, 1)).as_signed()
    if len(value) <= bits:
        return value
    top = value[bits - 1:]
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return Mux(top.all() | ~top.any(), value[:bits].as_signed(),
               Mux(value[-1], low, high))


def clip_symmetric(value, bits):
    """Clamp a signed value to +-(2^(bits-1) - 1), the operand range."""
    narrow = saturate(value, bits)
    low = -(1 << (bits - 1))
    return Mux(narrow == low, low + 1, narrow)


def rhu_variable(value, shift):
    """Round half up by a shift held in a signal: ((2v >> s) + 1) >> 1, which equals
    (v + 2^(s-1)) >> s for s >= 1 and v for s = 0, with no adder that depends on s."""
    return round_half_up(shifted_with_half(value, shift))


def shifted_with_half(value, shift):
    """2v >> s: the shifter of `rhu_variable`, for a pipeline that registers it before
    the adder of `round_half_up`."""
    return (value << 1) >> shift


def round_half_up(halved):
    """(h + 1) >> 1 of a value from `shifted_with_half`."""
    return (halved + 1) >> 1


def table_lookup(entries, index):
    """entries[index] as a tree of 2:1 multiplexers, one level per bit of the index. An
    Array would become a Verilog case block, which Icarus does not evaluate until its
    index first changes: an index that stays 0 from reset read as X there."""
    entries = list(entries)
    for bit in index:
        entries = [Mux(bit, high, low) for low, high in zip(entries[0::2], entries[1::2])]
    return entries[0]
