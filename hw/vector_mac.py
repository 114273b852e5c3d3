"""One vector-MAC lane: a V-wide dot product scaled by the rounded scale product."""

from amaranth import Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.numerics import rhu
from hw.arith import tree_sum
from hw.layouts import vsq_vector_layout

__all__ = ["VectorMacLane"]


class VectorMacLane(wiring.Component):
    """d * p for one pair of VSQ vectors, in two register stages that move on `en`.

    Stage ``d_`` holds the exact dot product d and the scale product p rounded half up
    to scale_product_bits; stage ``m_`` holds their product. Without vector scales the
    lane has no scale multiplier and its product is d.

    Parameters
    ----------
    config : AcceleratorConfig

    Members
    -------
    a, b : In(vsq_vector_layout(config))
    en : In(1)
        Advance both stages.
    product : Out(signed(config.product_bits))
        d * p of the vectors presented two enabled cycles earlier.
    """

    def __init__(self, config):
        self._config = config
        layout = vsq_vector_layout(config)
        super().__init__({
            "a": In(layout),
            "b": In(layout),
            "en": In(1),
            "product": Out(signed(config.product_bits)),
        })

    def elaborate(self, platform):
        config = self._config
        m = Module()

        d_dot = Signal(signed(config.dot_bits))
        with m.If(self.en):
            m.d.sync += d_dot.eq(tree_sum([x * y for x, y in zip(self.a.data, self.b.data)]))
        if config.vector_scales:
            d_scale = Signal(unsigned(config.scale_product_width))
            with m.If(self.en):
                m.d.sync += d_scale.eq(
                    rhu(self.a.scale * self.b.scale, config.scale_product_shift))
            scaled = d_dot * d_scale
        else:
            scaled = d_dot
        with m.If(self.en):
            m.d.sync += self.product.eq(scaled)
        return m

