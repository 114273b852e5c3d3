"""Pipeline registers that move together on one enable."""

from types import SimpleNamespace

from amaranth import Signal

from hw.arith import tree

__all__ = ["stage", "pipelined_tree"]


def stage(m, prefix, enable=None, **values):
    """One register per keyword (one per element for a list), loaded from its value while
    `enable` (every cycle if None), named ``prefix_key``; returned as the attributes of a
    namespace."""
    registers = {}
    for key, value in values.items():
        if isinstance(value, list):
            registers[key] = [Signal.like(item, name=f"{prefix}_{key}{index}")
                              for index, item in enumerate(value)]
            pairs = zip(registers[key], value)
        else:
            registers[key] = Signal.like(value, name=f"{prefix}_{key}")
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
