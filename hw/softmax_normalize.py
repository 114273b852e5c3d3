"""Loop 2 of the softmax: every kept logit's 2^(x - max) times the row's reciprocal."""

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.numerics import rhu
from hw.exp2 import exp2_term
from hw.layouts import softmax_buffered_beat_layout, softmax_probs_layout, softmax_row_layout

__all__ = ["SoftmaxNormalize", "row_reciprocal_layout"]


def row_reciprocal_layout(config):
    """A piece of a row ready for loop 2: r = floor(2^k / d), its max and error."""
    return data.StructLayout({"quotient": unsigned(config.softmax_recip_bits),
                              "tag": softmax_row_layout(config)})


class SoftmaxNormalize(wiring.Component):
    """p = min(rhu(2^(x - m) * r, k - O), 2^O - 1) for each kept logit, 0 for the others
    and for every logit of an erroneous row.

    A row's reciprocal stays at the head of `rows` until its piece's last beat is taken,
    so consecutive rows follow each other without a gap. Pipeline: ``s1_`` the terms
    -> products, rounding and saturation in the output register.

    Members
    -------
    rows : In(stream.Signature(row_reciprocal_layout(config)))
    beats : In(stream.Signature(softmax_buffered_beat_layout(config)))
    o : Out(stream.Signature(softmax_probs_layout(config)))
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "rows": In(stream.Signature(row_reciprocal_layout(config))),
            "beats": In(stream.Signature(softmax_buffered_beat_layout(config))),
            "o": Out(stream.Signature(softmax_probs_layout(config))),
        })

    def elaborate(self, platform):
        config = self._config
        m = Module()
        row, beat = self.rows.payload, self.beats.payload.beat

        advance, take = Signal(), Signal()
        m.d.comb += [
            advance.eq(~self.o.valid | self.o.ready),
            self.beats.ready.eq(self.rows.valid & advance),
            take.eq(self.beats.valid & self.beats.ready),
            self.rows.ready.eq(take & self.beats.payload.piece_end),
        ]

        s1_valid, s1_last, s1_error = Signal(), Signal(), Signal()
        s1_keep = Signal.like(beat.keep)
        s1_reciprocal = Signal.like(row.quotient)
        s1_terms = Signal(data.ArrayLayout(unsigned(config.softmax_exp_bits + 1),
                                           config.softmax_lanes))
        with m.If(advance):
            m.d.sync += [
                s1_valid.eq(take), s1_last.eq(beat.last), s1_error.eq(row.tag.error),
                s1_keep.eq(beat.keep), s1_reciprocal.eq(row.quotient),
            ]
            m.d.sync += [term.eq(exp2_term(logit, row.tag.row_max, config))
                         for term, logit in zip(s1_terms, beat.logits)]

        shift = config.softmax_recip_shift - (config.softmax_out_bits - 1)
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(s1_valid), self.o.payload.last.eq(s1_last),
                         self.o.payload.error.eq(s1_error)]
            for prob, term, keep in zip(self.o.payload.probs, s1_terms, s1_keep):
                scaled = rhu(term * s1_reciprocal, shift)
                saturated = Mux(scaled > config.softmax_out_max, config.softmax_out_max, scaled)
                m.d.sync += prob.eq(Mux(keep & ~s1_error, saturated, 0))
        return m
