"""A harness that makes every path of a block register to register on a few pins."""

from amaranth import Cat, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["TimingShell"]


class TimingShell(wiring.Component):
    """Every input of `block` from a register of a shift chain loaded from one pin, every
    output into a register, the registers folded by XOR into one pin. Place and route
    then times the block's own paths as a system would, with inputs from flip-flops,
    and nothing is optimized away; its area is not the block's (synthesize the block
    alone for that)."""

    serial_in: In(1)
    folded: Out(1)

    def __init__(self, block):
        self._block = block
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.block = block = self._block
        inputs, outputs = [], []
        for _, member, value in block.signature.flatten(block):
            (inputs if member.flow == In else outputs).append(Value.cast(value))
        chain = Signal(max(1, sum(len(value) for value in inputs)))
        m.d.sync += chain.eq(Cat(self.serial_in, chain[:-1]))
        offset = 0
        for value in inputs:
            m.d.comb += value.eq(chain[offset:offset + len(value)])
            offset += len(value)
        captured = Signal(sum(len(value) for value in outputs))
        m.d.sync += [captured.eq(Cat(*outputs)), self.folded.eq(captured.xor())]
        return m
