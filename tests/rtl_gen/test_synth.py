"""A small lane through generic and ECP5 synthesis, so that an unsynthesizable construct
shows up in CI (the full study, with place and route, is `make synth`); the register
replicas that synthesis must not merge; what the transistor estimate counts."""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.array.vector_mac import VectorMacLane
from vsq_accel.hw.lib.pipeline import replicas
from vsq_accel.rtl_gen.synth import synthesize
from vsq_accel.spec.config import AcceleratorConfig


def test_small_lane_synthesizes():
    config = AcceleratorConfig(lanes=1, vector_size=8, lane_stages=2)
    figures = synthesize(lambda: VectorMacLane(config), "lane", place_and_route=False)
    # The lane's registers: d (dot_bits), p (scale_product_width) and d * p.
    registers = config.dot_bits + config.scale_product_width + config.product_bits
    assert figures["flip_flops"] == registers
    assert figures["cells"] > 0 and figures["transistors"] > 0 and figures["luts"] > 0
    assert figures["dsps"] == 0, "multipliers are mapped to logic before DSP inference"


class _TwoCopies(wiring.Component):
    """One input registered twice by `replicas`, each copy on its own output."""

    value: In(8)
    first: Out(8)
    second: Out(8)

    def elaborate(self, platform):
        m = Module()
        first, second = replicas(m, "copy", self.value, 2, enable=1)
        m.d.comb += [self.first.eq(first), self.second.eq(second)]
        return m


def test_replicas_survive_synthesis():
    """Identical flip-flops are merged unless marked; the replicas must stay two."""
    figures = synthesize(_TwoCopies, "copies", place_and_route=False)
    assert figures["flip_flops"] == 16


class _RegisterAndMemory(wiring.Component):
    """An 8-bit register with an enable and a reset, and a 16 x 8 memory."""

    value: In(8)
    enable: In(1)
    address: In(4)
    held: Out(8)
    read: Out(8)

    def elaborate(self, platform):
        m = Module()
        with m.If(self.enable):
            m.d.sync += self.held.eq(self.value)
        m.submodules.memory = memory = Memory(shape=8, depth=16, init=[])
        write, read = memory.write_port(), memory.read_port(domain="comb")
        m.d.comb += [write.addr.eq(self.address), write.data.eq(self.value),
                     write.en.eq(self.enable), read.addr.eq(self.address),
                     self.read.eq(read.data)]
        return m


def test_registers_and_memories_are_counted():
    """A flip-flop with an enable and a reset costs a plain one (16 transistors) and two
    multiplexers (12 each); a memory bit, an SRAM cell (6)."""
    figures = synthesize(_RegisterAndMemory, "block", place_and_route=False)
    assert figures["memory_bits"] == 16 * 8
    assert figures["transistors"] == 8 * (16 + 2 * 12) + 16 * 8 * 6
