"""One vector-MAC lane: a V-wide dot product scaled by the rounded scale product."""

from amaranth import Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.arith import tree_sum
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.spec import ports
from vsq_accel.spec.numerics import rhu

__all__ = ["VectorMacLane"]


class VectorMacLane(wiring.Component):
    """d * p for one pair of VSQ vectors, in `lane_stages` register stages that move on
    `en`.

    Stage ``d_`` holds the exact dot product d and the scale product p rounded half up
    to scale_product_bits; the last stage holds their product. From three stages on,
    ``p_`` first holds the V element products summed in pairs (and the two scales); with
    four, ``h_`` holds d times each half of p, added in the last stage (the d x p multiply
    would be the longest path of the array). Without vector scales the lane has no scale
    multiplier and its product is d.

    Parameters
    ----------
    config : AcceleratorConfig

    Members
    -------
    a, b : In(ports.vsq_vector(config))
    en : In(1)
        Advance both stages.
    product : Out(signed(config.product_bits))
        d * p of the vectors presented `lane_stages` enabled cycles earlier.
    """

    def __init__(self, config):
        self._config = config
        vector = layout(ports.vsq_vector(config))
        super().__init__({
            "a": In(vector),
            "b": In(vector),
            "en": In(1),
            "product": Out(signed(config.product_bits)),
        })

    def elaborate(self, platform):
        config = self._config
        m = Module()

        element_products = [x * y for x, y in zip(self.a.data, self.b.data)]
        scales = (self.a.scale, self.b.scale) if config.vector_scales else ()
        if config.lane_stages >= 3:
            # Products summed in pairs, registered: the adder tree's first level moves
            # into this stage, which balances the two (ECP5: 4x4 products in LUTs).
            pairs = [a + b for a, b in zip(element_products[0::2], element_products[1::2])]
            p_pairs = [Signal.like(pair, name=f"p_pair{index}")
                       for index, pair in enumerate(pairs)]
            p_scales = [Signal.like(scale, name=f"p_scale{index}")
                        for index, scale in enumerate(scales)]
            with m.If(self.en):
                m.d.sync += [register.eq(value) for register, value in
                             zip(p_pairs + p_scales, pairs + list(scales))]
            element_products, scales = p_pairs, p_scales

        d_dot = Signal(signed(config.dot_bits))
        with m.If(self.en):
            m.d.sync += d_dot.eq(tree_sum(element_products))
        if config.vector_scales:
            d_scale = Signal(unsigned(config.scale_product_width))
            with m.If(self.en):
                m.d.sync += d_scale.eq(rhu(scales[0] * scales[1], config.scale_product_shift))
        if config.lane_stages == 4 and config.vector_scales:
            half = (config.scale_product_width + 1) // 2
            h_low = Signal(signed(config.dot_bits + half))
            h_high = Signal(signed(config.product_bits))
            with m.If(self.en):
                m.d.sync += [h_low.eq(d_dot * d_scale[:half]), h_high.eq(d_dot * d_scale[half:])]
            scaled = (h_high << half) + h_low
        elif config.lane_stages == 4:
            # Nothing to split without a scale multiplier: d is held one more stage.
            h_dot = Signal.like(d_dot)
            with m.If(self.en):
                m.d.sync += h_dot.eq(d_dot)
            scaled = h_dot
        else:
            scaled = d_dot * d_scale if config.vector_scales else d_dot
        with m.If(self.en):
            m.d.sync += self.product.eq(scaled)
        return m

