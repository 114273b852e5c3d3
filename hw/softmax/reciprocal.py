"""Pipelined reciprocal: one quotient bit per stage, a new divisor every cycle."""

from amaranth import Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ReciprocalPipeline"]


class ReciprocalPipeline(wiring.Component):
    """q = floor(2^k / d) by restoring division, with a tag that travels alongside.

    Stage j decides quotient bit Q-1-j; the stages move every cycle and nothing stalls
    them (the streams are always ready); only the valid bits are reset. d = 0 gives
    q = 0. The caller guarantees d > 2^(k - Q), so that q fits Q bits.

    Parameters
    ----------
    dividend_shift : int
        k.
    divisor_bits, quotient_bits : int
        Widths of d and of q (Q, also the latency in cycles).
    tag_shape : shape
        Carried unchanged from `i` to `o`.

    Members
    -------
    i : In(stream.Signature(StructLayout({"divisor": unsigned(divisor_bits), "tag": tag_shape}),
                            always_ready=True))
    o : Out(stream.Signature(StructLayout({"quotient": unsigned(quotient_bits), "tag": tag_shape}),
                             always_ready=True))
    """

    def __init__(self, dividend_shift, divisor_bits, quotient_bits, tag_shape):
        if (1 << dividend_shift) >= (1 << (divisor_bits + quotient_bits)):
            raise ValueError(f"2^{dividend_shift} / d needs more than {quotient_bits} bits "
                             f"for some {divisor_bits}-bit divisor d")
        self._shift = dividend_shift
        self._quotient_bits = quotient_bits
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({
                "divisor": unsigned(divisor_bits), "tag": tag_shape}), always_ready=True)),
            "o": Out(stream.Signature(data.StructLayout({
                "quotient": unsigned(quotient_bits), "tag": tag_shape}), always_ready=True)),
        })

    def elaborate(self, platform):
        m = Module()
        valid = self.i.valid
        divisor, tag = self.i.payload.divisor, self.i.payload.tag
        remainder = Const(1 << self._shift)
        quotient = Const(0, self._quotient_bits)
        zero = ~divisor.any()
        for bit in reversed(range(self._quotient_bits)):
            shifted = divisor << bit
            take = remainder >= shifted
            next_valid = Signal()
            next_zero = Signal(reset_less=True)
            next_divisor = Signal.like(divisor, reset_less=True)
            next_tag = Signal.like(tag, reset_less=True)
            next_remainder = Signal(self._shift + 1, reset_less=True)
            next_quotient = Signal(self._quotient_bits, reset_less=True)
            m.d.sync += [
                next_valid.eq(valid), next_zero.eq(zero),
                next_divisor.eq(divisor), next_tag.eq(tag),
                next_remainder.eq(Mux(take, remainder - shifted, remainder)),
                next_quotient.eq(quotient | (take << bit)),
            ]
            valid, zero, divisor, tag = next_valid, next_zero, next_divisor, next_tag
            remainder, quotient = next_remainder, next_quotient
        m.d.comb += [
            self.o.valid.eq(valid),
            self.o.payload.quotient.eq(Mux(zero, 0, quotient)),
            self.o.payload.tag.eq(tag),
        ]
        return m
