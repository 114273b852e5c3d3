"""Loop 1 of the softmax: a row's running integer max and running sum of 2^(x - max)."""

from amaranth import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.arith import add, larger
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.lib.pipeline import pipelined_tree, stage
from vsq_accel.hw.softmax.exp2 import ceil_units, exp2_distance, exp2_of_parts, exp2_parts
from vsq_accel.spec import ports
from vsq_accel.spec.commands import SHIFT_BITS
from vsq_accel.spec.timing import (check_stages, softmax_max_stages, softmax_row_sum_latency,
                                   softmax_sum_stages)

__all__ = ["SoftmaxRowSum", "row_sum_layout"]


def row_sum_layout(config):
    """A finished piece of a row: its sum d, and its max and error for loop 2."""
    return data.StructLayout({"divisor": unsigned(config.softmax_sum_bits),
                              "tag": layout(ports.softmax_row(config))})


class SoftmaxRowSum(wiring.Component):
    """Per beat: m' = max(m, ceil of the kept logits); d = rhu(d, m' - m) + the kept
    terms 2^(x - m'). A piece starts from m = ceil(-2^(W-1) / 2^F), d = 0, or, when its
    first beat has `resume`, from that beat's `start_max` and `start_sum`. At a piece end,
    (d, m, the max's rise over the piece if resumed, error) goes out.

    Only the two running values close a loop; the rest is pipelined so that no stage
    holds more than one comparator or two adder levels of a tree. The stages never
    stall (the unit's row queue always has room, see `SoftmaxUnit`), so no enable fans
    out to them: ``a0_``, ``a1_``, ... the beat's max, of the raw logits (ceil is
    monotonic, so it waits for the one winner) -> ``c_`` the running max -> ``d_`` each
    logit's distance below it, and the max's rise -> ``e_`` each term's table entry and
    shift, and the rescale -> ``f_`` the terms -> ``s0_``, ... their sum -> the running
    sum and the output register (`spec.timing.softmax_row_sum_latency` stages before it).

    Members
    -------
    i : In(stream.Signature(StructLayout({"beat": ports.softmax_buffered_beat(config),
                                          "overflow": 1, "resume": 1, "start_max": ...,
                                          "start_sum": ...}), always_ready=True))
        `overflow`: the beat belongs to a row longer than softmax_max_row.
    o : Out(stream.Signature(row_sum_layout(config), always_ready=True))
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({
                "beat": layout(ports.softmax_buffered_beat(config)), "overflow": 1,
                "resume": 1, "start_max": layout(ports.softmax_row_max(config)),
                "start_sum": unsigned(config.softmax_sum_bits)}), always_ready=True)),
            "o": Out(stream.Signature(row_sum_layout(config), always_ready=True)),
        })

    def elaborate(self, platform):
        config = self._config
        m = Module()
        start = int(ceil_units(config.softmax_logit_min, config))
        beat = self.i.payload.beat.beat

        def carried(previous, *more):
            return {key: getattr(previous, key) for key in ("valid", "end", "overflow") + more}

        # The first beat of a piece starts from the start values or from the beat's own.
        piece_start = Signal(init=1)
        with m.If(self.i.valid):
            m.d.sync += piece_start.eq(self.i.payload.beat.piece_end)
        masked = [Mux(keep, logit, config.softmax_logit_min)
                  for logit, keep in zip(beat.logits, beat.keep)]
        maxed = pipelined_tree(m, "a", masked, larger, softmax_max_stages(config), 1, {
            "valid": self.i.valid, "end": self.i.payload.beat.piece_end,
            "overflow": self.i.payload.overflow, "logits": beat.logits, "keep": beat.keep,
            "resumed": piece_start & self.i.payload.resume,
            "start_max": self.i.payload.start_max, "start_sum": self.i.payload.start_sum,
            "first": piece_start})

        # max(m, ceil(x)) = ceil(x) exactly when x > m * 2^F: the compare needs no ceil.
        running_max = Signal(layout(ports.softmax_row_max(config)), init=start)
        previous_max = Mux(maxed.resumed, maxed.start_max, running_max)
        rises = maxed.result > (previous_max << config.softmax_frac_bits)
        new_max = Mux(rises, ceil_units(maxed.result, config), previous_max)
        # The piece's max before it, and whether it was resumed, for the rise at its end.
        piece = {"initial_max": Signal.like(running_max, name="piece_initial_max"),
                 "resumed_piece": Signal(name="piece_resumed")}
        with m.If(maxed.valid & maxed.first):
            m.d.sync += [piece["initial_max"].eq(previous_max),
                         piece["resumed_piece"].eq(maxed.resumed)]
        # The sum a piece starts from, chosen here: the running sum's loop then holds a
        # multiplexer, a shift and an adder, and nothing after them.
        resumes = ("start_sum", "first")
        c = stage(m, "c", **carried(maxed, "logits", "keep", "first"),
                  start_sum=Mux(maxed.resumed, maxed.start_sum, 0),
                  row_max=new_max, previous_max=previous_max,
                  initial_max=Mux(maxed.first, previous_max, piece["initial_max"]),
                  resumed_piece=Mux(maxed.first, maxed.resumed, piece["resumed_piece"]))
        with m.If(maxed.valid):
            m.d.sync += running_max.eq(Mux(maxed.end, start, new_max))

        # The max's rise over the beat and over the piece, and a stage later what each
        # clamps to: a subtract and a compare in one stage were too long. The piece's rise,
        # at most acc_bits (0 for a piece started afresh), goes out with the row: P V's
        # partial sums of the row are divided by 2^rise.
        d = stage(m, "d", **carried(c, "keep", "row_max", "resumed_piece", *resumes),
                  rise=c.row_max - c.previous_max, piece_rise=c.row_max - c.initial_max,
                  distances=[exp2_distance(logit, c.row_max, config) for logit in c.logits])
        rescale_limit = config.softmax_sum_bits + 1
        parts = [exp2_parts(distance, config) for distance in d.distances]
        piece_rise = Mux(d.piece_rise > config.acc_bits, config.acc_bits, d.piece_rise)
        e = stage(m, "e", **carried(d, "row_max", *resumes),
                  rescale=Mux(d.rise > rescale_limit, rescale_limit, d.rise)[
                      :rescale_limit.bit_length()],
                  piece_rise=Mux(d.resumed_piece, piece_rise, 0)[:SHIFT_BITS],
                  fractions=[Mux(keep, fraction, 0)
                             for (fraction, _), keep in zip(parts, d.keep)],
                  shifts=[shift for _, shift in parts])
        f = stage(m, "f", **carried(e, "row_max", "rescale", "piece_rise", *resumes),
                  terms=[exp2_of_parts(*part) for part in zip(e.fractions, e.shifts)])
        summed = pipelined_tree(m, "s", f.terms, add, softmax_sum_stages(config), 2,
                                carried(f, "row_max", "rescale", "piece_rise", *resumes))
        check_stages("SoftmaxRowSum", softmax_max_stages(config) + len((c, d, e, f))
                     + softmax_sum_stages(config), softmax_row_sum_latency(config))

        # rhu(d, s) + T = ((2d >> s) + 2T + 1) >> 1: one adder after the shift.
        running_sum = Signal(unsigned(config.softmax_sum_bits))
        running_overflow = Signal()
        previous_sum = Mux(summed.first, summed.start_sum, running_sum)
        new_sum = (((previous_sum << 1) >> summed.rescale)
                   + Cat(Const(1, 1), summed.result)) >> 1
        out = stage(m, "out", valid=summed.valid & summed.end, divisor=new_sum,
                    row_max=summed.row_max, error=running_overflow | summed.overflow,
                    rise=summed.piece_rise)
        m.d.comb += [
            self.o.valid.eq(out.valid),
            self.o.payload.divisor.eq(out.divisor),
            self.o.payload.tag.row_max.eq(out.row_max),
            self.o.payload.tag.row_sum.eq(out.divisor),
            self.o.payload.tag.rise.eq(out.rise),
            self.o.payload.tag.error.eq(out.error),
        ]
        with m.If(summed.valid):
            m.d.sync += [running_sum.eq(new_sum),
                         running_overflow.eq(~summed.end & (running_overflow | summed.overflow))]
        return m
