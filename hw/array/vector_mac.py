"""One vector-MAC lane: a V-wide dot product scaled by the rounded scale product."""

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.arith import equals, tree_sum
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.lib.pipeline import stage
from vsq_accel.spec import ports
from vsq_accel.spec.numerics import rhu
from vsq_accel.spec.ports import OperandPart

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

    A multi-format lane holds 8-bit A elements and multiplies them by B nibbles extended
    to 5 bits (`config.nibble_passes`): an INT8 B vector comes as its high nibbles, whose
    dot product the lane keeps (``high_dot``), then its low nibbles (unsigned), whose
    product is 16 x the kept dot plus their own: the INT8 dot product, exact, with p = 1.
    Its `scaled` input (with VSQ among other formats) sets p = 1 for a B vector without
    scales.

    Parameters
    ----------
    config : AcceleratorConfig

    Members
    -------
    a : In(ports.lane_vector(config))
    b : In(ports.lane_b_vector(config))
    part : In(2), an OperandPart, with nibble passes
        What `b` is; a B register that holds no vector shows WHOLE.
    scaled : In(1), with VSQ among other formats
        p is the rounded scale product; else 1.
    en : In(1)
        Advance every stage.
    product : Out(signed(config.product_bits))
        d * p of the vectors presented `lane_stages` enabled cycles earlier; for the low
        nibbles of an INT8 vector, the INT8 dot product.
    """

    def __init__(self, config):
        self._config = config
        members = {
            "a": In(layout(ports.lane_vector(config))),
            "b": In(layout(ports.lane_b_vector(config))),
            "en": In(1),
            "product": Out(signed(config.product_bits)),
        }
        fields = ports.b_vector(config).fields
        if "part" in fields:
            members["part"] = In(2)
        if "scaled" in fields:
            members["scaled"] = In(1)
        super().__init__(members)

    def elaborate(self, platform):
        config = self._config
        m = Module()
        nibbles = config.nibble_passes
        tags = {}
        if nibbles:
            tags["part"] = self.part
        if hasattr(self, "scaled"):
            tags["scaled"] = self.scaled

        element_products = [x * y for x, y in zip(self.a.data, self.b.data)]
        scales = [self.a.scale, self.b.scale] if config.vector_scales else []
        if config.lane_stages >= 3:
            # Products summed in pairs, registered: the adder tree's first level moves
            # into this stage, which balances the two (ECP5: 4x4 products in LUTs). The
            # 8 x 5-bit products of nibble passes are registered alone.
            pairs = element_products if nibbles else [
                a + b for a, b in zip(element_products[0::2], element_products[1::2])]
            p_ = stage(m, "p", self.en, pair=pairs, scale=scales, **tags)
            element_products, scales = p_.pair, p_.scale
            tags = {key: getattr(p_, key) for key in tags}

        values = {"dot": Signal(signed(config.lane_dot_bits))}
        m.d.comb += values["dot"].eq(tree_sum(element_products))
        if config.vector_scales:
            scale = rhu(scales[0] * scales[1], config.scale_product_shift)
            if "scaled" in tags:
                scale = Mux(tags["scaled"], scale, 1)
            values["scale"] = Signal(unsigned(config.scale_product_width))
            m.d.comb += values["scale"].eq(scale)
        d_ = stage(m, "d", self.en, **values, **tags)

        # d of a 4-bit operand fits its own width; the scale multiplier needs no more.
        dot = d_.dot[:config.dot_bits].as_signed() if nibbles else d_.dot
        wide = {}
        if nibbles:
            high_dot = Signal.like(d_.dot, name="high_dot", reset_less=True)
            with m.If(self.en & equals(d_.part, OperandPart.HIGH)):
                m.d.sync += high_dot.eq(d_.dot)
            wide = {"wide": (high_dot << 4) + d_.dot, "low": equals(d_.part, OperandPart.LOW)}
        if config.lane_stages == 4 and config.vector_scales:
            half = (config.scale_product_width + 1) // 2
            h_ = stage(m, "h", self.en, low_half=dot * d_.scale[:half],
                       high_half=dot * d_.scale[half:], **wide)
            scaled = (h_.high_half << half) + h_.low_half
        elif config.lane_stages == 4:
            # Nothing to split without a scale multiplier: d is held one more stage.
            h_ = stage(m, "h", self.en, dot=dot, **wide)
            scaled = h_.dot
        else:
            h_ = d_
            scaled = dot * d_.scale if config.vector_scales else dot
        if nibbles:
            h_wide = h_.wide if config.lane_stages == 4 else wide["wide"]
            h_low = h_.low if config.lane_stages == 4 else wide["low"]
            scaled = Mux(h_low, h_wide, scaled)
        with m.If(self.en):
            m.d.sync += self.product.eq(scaled)
        return m
