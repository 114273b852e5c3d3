"""Loop 2 of the softmax: every kept logit's 2^(x - max) times the row's reciprocal."""

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.credit_queue import CreditQueue
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.lib.pipeline import stage
from vsq_accel.hw.softmax.exp2 import exp2_distance, exp2_of_parts, exp2_parts
from vsq_accel.spec import ports
from vsq_accel.spec.timing import NORMALIZE_STAGES, check_stages

__all__ = ["SoftmaxNormalize", "row_reciprocal_layout"]


def row_reciprocal_layout(config):
    """A piece of a row ready for loop 2: r = floor(2^k / d), its max and error."""
    return data.StructLayout({"quotient": unsigned(config.softmax_recip_bits),
                              "tag": layout(ports.softmax_row(config))})


class SoftmaxNormalize(wiring.Component):
    """p = min(rhu(2^(x - m) * r, k - O), 2^O - 1) for each kept logit, or in a row's
    exponential mode 2^(x - m) itself with r beside it (the tile program normalizes after
    P V); 0 for the others and for every logit (and r) of an erroneous row.

    A row's reciprocal stays at the head of `rows` until its piece's last beat is taken,
    so consecutive rows follow each other without a gap. Stages: ``a_`` the distances
    below the max -> ``b_`` the terms' table entries and shifts -> ``c_`` the terms ->
    ``d_`` the terms times each half of r -> ``e_`` their sum, plus half an output step ->
    ``out_`` shift and saturation -> a `CreditQueue`. The stages never stall: a beat is
    taken only while the queue has room for it and for every beat ahead of it.

    Members
    -------
    rows : In(stream.Signature(row_reciprocal_layout(config)))
    beats : In(stream.Signature(ports.softmax_buffered_beat(config)))
    o : Out(stream.Signature(ports.softmax_probs(config)))
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "rows": In(stream.Signature(row_reciprocal_layout(config))),
            "beats": In(stream.Signature(layout(ports.softmax_buffered_beat(config)))),
            "o": Out(stream.Signature(layout(ports.softmax_probs(config)))),
        })

    def elaborate(self, platform):
        config = self._config
        m = Module()
        row, beat = self.rows.payload, self.beats.payload.beat

        m.submodules.queue = queue = CreditQueue(self.o.payload.shape())
        take = Signal()
        m.d.comb += [
            self.beats.ready.eq(self.rows.valid & queue.room),
            take.eq(self.beats.valid & self.beats.ready),
            queue.take.eq(take),
            self.rows.ready.eq(take & self.beats.payload.piece_end),
        ]

        # A copy of r per logit, 0 where the logit is masked: the copies differ, so
        # synthesis keeps them apart and no one register drives every multiplier.
        a = stage(m, "a", valid=take, last=beat.last, error=row.tag.error,
                  keep=beat.keep, exponentials=beat.exponentials, reciprocal=row.quotient,
                  row_max=row.tag.row_max, row_sum=row.tag.row_sum, rise=row.tag.rise,
                  reciprocals=[Mux(keep, row.quotient, 0) for keep in beat.keep],
                  distances=[exp2_distance(logit, row.tag.row_max, config)
                             for logit in beat.logits])
        parts = [exp2_parts(distance, config) for distance in a.distances]
        mode = _mode(a)
        b = stage(m, "b", valid=a.valid, last=a.last, error=a.error, keep=a.keep, **mode,
                  reciprocals=a.reciprocals, fractions=[fraction for fraction, _ in parts],
                  shifts=[shift for _, shift in parts])
        mode = _mode(b)
        c = stage(m, "c", valid=b.valid, last=b.last, error=b.error, keep=b.keep, **mode,
                  reciprocals=b.reciprocals,
                  terms=[exp2_of_parts(*part) for part in zip(b.fractions, b.shifts)])
        half = config.softmax_recip_bits // 2
        mode = _mode(c)
        d = stage(m, "d", valid=c.valid, last=c.last, error=c.error, keep=c.keep, **mode,
                  terms=c.terms,
                  low=[term * r[:half] for term, r in zip(c.terms, c.reciprocals)],
                  high=[term * r[half:] for term, r in zip(c.terms, c.reciprocals)])
        shift = config.softmax_out_shift
        rounding = 1 << (shift - 1) if shift else 0
        mode = _mode(d)
        e = stage(m, "e", valid=d.valid, last=d.last, error=d.error, keep=d.keep, **mode,
                  terms=d.terms,
                  scaled=[(high << half) + low + rounding for low, high in zip(d.low, d.high)])

        values = []
        for scaled, term, keep in zip(e.scaled, e.terms, e.keep):
            rounded = scaled >> shift
            saturated = Mux(rounded > config.softmax_out_max, config.softmax_out_max, rounded)
            values.append(Mux(keep & ~e.error, Mux(e.exponentials, term, saturated), 0))
        out = stage(m, "out", valid=e.valid, last=e.last, error=e.error, keep=e.keep,
                    values=values, reciprocal=Mux(e.error, 0, e.reciprocal),
                    row_max=e.row_max, row_sum=e.row_sum, rise=e.rise)
        stages = len((a, b, c, d, e, out))
        check_stages("SoftmaxNormalize", stages, NORMALIZE_STAGES)
        queue.size_for(stages)
        result = Signal.like(self.o.payload)
        m.d.comb += [result.last.eq(out.last), result.error.eq(out.error),
                     result.keep.eq(out.keep), result.reciprocal.eq(out.reciprocal),
                     result.row_max.eq(out.row_max), result.row_sum.eq(out.row_sum),
                     result.rise.eq(out.rise)]
        m.d.comb += [port.eq(value) for port, value in zip(result.values, out.values)]
        m.d.comb += [queue.i.payload.eq(result), queue.i.valid.eq(out.valid)]
        wiring.connect(m, queue.o, wiring.flipped(self.o))
        return m


def _mode(previous):
    """What a row's beats carry through loop 2 unchanged: the mode, r and the state."""
    return {key: getattr(previous, key)
            for key in ("exponentials", "reciprocal", "row_max", "row_sum", "rise")}
