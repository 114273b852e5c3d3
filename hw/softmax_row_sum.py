"""Loop 1 of the softmax: a row's running integer max and running sum of 2^(x - max)."""

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.arith import rhu_variable, tree_max, tree_sum
from hw.exp2 import ceil_units, exp2_term
from hw.layouts import softmax_buffered_beat_layout, softmax_row_layout, softmax_row_max_shape

__all__ = ["SoftmaxRowSum", "row_sum_layout"]


def row_sum_layout(config):
    """A finished piece of a row: its sum d, and its max and error for loop 2."""
    return data.StructLayout({"divisor": unsigned(config.softmax_sum_bits),
                              "tag": softmax_row_layout(config)})


class SoftmaxRowSum(wiring.Component):
    """Per beat: m' = max(m, ceil of the kept logits); d = rhu(d, m' - m) + the kept
    terms 2^(x - m'). At a piece end, (d, m, error) goes out and the next piece starts
    from m = ceil(-128 / 2^F), d = 0.

    Pipeline, one shared enable held only by a result waiting on `o`: ``s1_`` the beat's
    max -> ``s2_`` the running max -> ``s3_`` the beat's terms, summed -> running sum and
    the output register.

    Members
    -------
    i : In(stream.Signature(StructLayout({"beat": softmax_buffered_beat_layout(config),
                                          "overflow": 1})))
        `overflow`: the beat belongs to a row longer than softmax_max_row.
    o : Out(stream.Signature(row_sum_layout(config)))
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({
                "beat": softmax_buffered_beat_layout(config), "overflow": 1}))),
            "o": Out(stream.Signature(row_sum_layout(config))),
        })

    def elaborate(self, platform):
        config = self._config
        m = Module()
        start = int(ceil_units(config.softmax_logit_min, config))
        beat = self.i.payload.beat.beat

        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance)]

        s1_valid, s1_end, s1_overflow = Signal(), Signal(), Signal()
        s1_logits, s1_keep = Signal.like(beat.logits), Signal.like(beat.keep)
        s1_max = Signal(softmax_row_max_shape())
        with m.If(advance):
            m.d.sync += [
                s1_valid.eq(self.i.valid), s1_end.eq(self.i.payload.beat.piece_end),
                s1_overflow.eq(self.i.payload.overflow),
                s1_logits.eq(beat.logits), s1_keep.eq(beat.keep),
                s1_max.eq(tree_max(Mux(keep, ceil_units(logit, config), start)
                                   for logit, keep in zip(beat.logits, beat.keep))),
            ]

        running_max = Signal(softmax_row_max_shape(), init=start)
        new_max = Mux(s1_max > running_max, s1_max, running_max)
        rescale_limit = config.softmax_sum_bits + 1
        s2_valid, s2_end, s2_overflow = Signal(), Signal(), Signal()
        s2_logits, s2_keep = Signal.like(s1_logits), Signal.like(s1_keep)
        s2_max = Signal.like(running_max)
        s2_rescale = Signal(range(rescale_limit + 1))
        with m.If(advance):
            m.d.sync += [
                s2_valid.eq(s1_valid), s2_end.eq(s1_end), s2_overflow.eq(s1_overflow),
                s2_logits.eq(s1_logits), s2_keep.eq(s1_keep), s2_max.eq(new_max),
                s2_rescale.eq(Mux(new_max - running_max > rescale_limit, rescale_limit,
                                  new_max - running_max)),
            ]
            with m.If(s1_valid):
                m.d.sync += running_max.eq(Mux(s1_end, start, new_max))

        s3_valid, s3_end, s3_overflow = Signal(), Signal(), Signal()
        s3_max, s3_rescale = Signal.like(s2_max), Signal.like(s2_rescale)
        s3_terms = Signal(unsigned(config.softmax_sum_bits))
        with m.If(advance):
            m.d.sync += [
                s3_valid.eq(s2_valid), s3_end.eq(s2_end), s3_overflow.eq(s2_overflow),
                s3_max.eq(s2_max), s3_rescale.eq(s2_rescale),
                s3_terms.eq(tree_sum(Mux(keep, exp2_term(logit, s2_max, config), 0)
                                     for logit, keep in zip(s2_logits, s2_keep))),
            ]

        running_sum = Signal(unsigned(config.softmax_sum_bits))
        running_overflow = Signal()
        new_sum = rhu_variable(running_sum, s3_rescale) + s3_terms
        with m.If(advance):
            m.d.sync += [
                self.o.valid.eq(s3_valid & s3_end),
                self.o.payload.divisor.eq(new_sum),
                self.o.payload.tag.row_max.eq(s3_max),
                self.o.payload.tag.error.eq(running_overflow | s3_overflow),
            ]
            with m.If(s3_valid):
                m.d.sync += [running_sum.eq(Mux(s3_end, 0, new_sum)),
                             running_overflow.eq(~s3_end & (running_overflow | s3_overflow))]
        return m
