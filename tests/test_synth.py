"""A small lane through generic and ECP5 synthesis, so that an unsynthesizable construct
shows up in CI (the full study, with place and route, is `make synth`), and the
register replicas that synthesis must not merge."""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.config import AcceleratorConfig
from hw.pipeline import replicas
from hw.vector_mac import VectorMacLane
from rtl_gen.synth import synthesize


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
