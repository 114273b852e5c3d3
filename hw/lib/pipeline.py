"""Pipeline registers that move together on one enable.

Only a stage's `valid` bit is reset. Nothing reads a data register while its valid bit
is low, so the data needs no reset, and a reset that reaches every data register is a
net with thousands of loads (it would be the longest path of the softmax unit)."""

from types import SimpleNamespace

from amaranth import Signal, Value, ValueCastable

from vsq_accel.hw.lib.arith import tree

__all__ = ["pipelined_tree", "pipelined_trees", "replicas", "stage"]


def stage(m, prefix, enable=None, kept=(), **values):
    """One register per keyword (one per element for a list), loaded from its value while
    `enable` (every cycle if None), named ``prefix_key``; returned as the attributes of a
    namespace. All but `valid` are reset-less. The lists named in `kept` are copies of
    fewer values, one per load: their registers carry `keep`, as `replicas` does."""
    registers = {}
    for key, value in values.items():
        reset_less = key != "valid"
        if isinstance(value, list):
            attrs = {"keep": 1} if key in kept else {}
            registers[key] = [Signal.like(item, name=f"{prefix}_{key}{index}",
                                          reset_less=reset_less, attrs=attrs)
                              for index, item in enumerate(value)]
            pairs = zip(registers[key], value)
        else:
            registers[key] = Signal.like(value, name=f"{prefix}_{key}", reset_less=reset_less)
            pairs = [(registers[key], value)]
        with m.If(1 if enable is None else enable):
            m.d.sync += [register.eq(item) for register, item in pairs]
    return SimpleNamespace(**registers)


def pipelined_tree(m, prefix, values, combine, stages, levels_per_stage, carried):
    """A balanced tree of `combine` over `values`, registered every `levels_per_stage`
    levels in `stages` stages (``prefix0_``, ``prefix1_``, ...) that never stall, with
    the `carried` values (a dict) alongside. Returns a namespace of the carried values
    and the tree's `result`."""
    last = SimpleNamespace(**carried, partial=list(values))
    for index in range(stages):
        last = stage(m, f"{prefix}{index}", **{key: getattr(last, key) for key in carried},
                     partial=tree(last.partial, combine, levels_per_stage))
    if len(last.partial) != 1:
        raise ValueError(f"{stages} stages of {levels_per_stage} levels do not finish a "
                         f"tree of {len(values)}")
    last.result = last.partial[0]
    return last


def pipelined_trees(m, prefix, groups, combine, levels_per_stage, valid, carried, kept=()):
    """One balanced tree of `combine` per list in `groups`, all in lockstep, registered
    every `levels_per_stage` levels (``prefix0_``, ``prefix1_``, ...) until each is one
    value, with `valid` and the `carried` values (a dict; `kept` as in `stage`) alongside.
    Returns a namespace of the carried values, `valid`, the trees' `results` and `depth`,
    the stages added (0 if every list has one value)."""
    last = SimpleNamespace(valid=valid, **carried)
    partials = [list(group) for group in groups]
    depth = 0
    while any(len(partial) > 1 for partial in partials):
        reduced = [tree(partial, combine, levels_per_stage) for partial in partials]
        flat = stage(m, f"{prefix}{depth}", valid=last.valid, kept=kept,
                     **{key: getattr(last, key) for key in carried},
                     partial=[value for partial in reduced for value in partial])
        offsets = [0]
        for partial in reduced:
            offsets.append(offsets[-1] + len(partial))
        partials = [flat.partial[start:end] for start, end in zip(offsets, offsets[1:])]
        last, depth = flat, depth + 1
    last.results = [partial[0] for partial in partials]
    last.depth = depth
    return last


def replicas(m, prefix, value, count, enable):
    """`count` reset-less registers loaded with `value` while `enable`, named
    ``prefix0``, ..., for a value whose one register would drive too many loads.

    The copies carry the `keep` attribute: synthesis merges identical flip-flops
    otherwise (`rtl_gen.synth` hands the attribute from the wires to their flip-flops,
    as Vivado reads it)."""
    copies = []
    for index in range(count):
        bits = Signal(len(Value.cast(value)), name=f"{prefix}{index}", reset_less=True,
                      attrs={"keep": 1})
        with m.If(enable):
            m.d.sync += bits.eq(value)
        copies.append(value.shape()(bits) if isinstance(value, ValueCastable) else bits)
    return copies
