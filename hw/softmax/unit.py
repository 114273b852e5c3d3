"""The softmax unit: base-2 Softermax with online normalization, P logits per cycle."""

from amaranth import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.softmax.normalize import SoftmaxNormalize
from vsq_accel.hw.softmax.reciprocal import ReciprocalPipeline
from vsq_accel.hw.softmax.row_sum import SoftmaxRowSum
from vsq_accel.spec import ports
from vsq_accel.spec.timing import ROW_QUEUE_HEAD, softmax_latency

__all__ = ["SoftmaxUnit"]

# Beats the logit buffer holds beyond the longest piece and the unit's latency: spare
# for the handshakes.
_BEAT_SLACK = 4


class SoftmaxUnit(wiring.Component):
    """Rows of base-2 logits (softmax_logit_bits) in, their probabilities out, in order, P per cycle.

    Loop 1 (`SoftmaxRowSum`) takes each beat as it arrives while the logit buffer keeps
    it; at the end of the row a pipelined divider forms the reciprocal, and loop 2
    (`SoftmaxNormalize`) reads the row back and scales every logit. The buffer holds the
    longest row plus the latency of loop 1 and the divider, so the next rows stream
    through loop 1 while earlier ones finish: rows of a few beats or more keep P logits
    per cycle.

    Loop 1 and the divider never stall, so no enable fans out from the output to them:
    every row they hold has its last beat still in the logit buffer (its reciprocal
    leaves the row queue as loop 2 takes that beat), so the row queue, as deep as the
    logit buffer, always has room.

    A row longer than softmax_max_row is cut into pieces of that length (so that the
    buffer never fills with an unfinished row); all its outputs are 0 with `error` set.
    An empty row cannot be sent: `last` rides on a beat.

    Members
    -------
    i : In(stream.Signature(ports.softmax_input(config)))
        A beat of logits; on a row's first beat, `resume` continues the row from the
        given max and sum (a SOFTMAX over the next block of a long row's keys).
    o : Out(stream.Signature(ports.softmax_probs(config)))
        The values of a beat, with the row's reciprocal and its state after the row.
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "i": In(stream.Signature(layout(ports.softmax_input(config)))),
            "o": Out(stream.Signature(layout(ports.softmax_probs(config)))),
        })

    def elaborate(self, platform):
        config = self._config
        m = Module()
        max_beats = config.softmax_max_beats

        m.submodules.row_sum = row_sum = SoftmaxRowSum(config)
        m.submodules.divider = divider = ReciprocalPipeline(
            config.softmax_recip_shift, config.softmax_sum_bits, config.softmax_recip_bits,
            row_sum.o.payload.tag.shape())
        buffered = layout(ports.softmax_buffered_beat(config))
        depth = max_beats + softmax_latency(config) + _BEAT_SLACK
        logits, logits_head = _queue(m, "logits", buffered.size, depth)
        rows, rows_head = _queue(m, "rows", divider.o.payload.shape().size, depth)
        m.submodules.normalize = normalize = SoftmaxNormalize(config)

        # Pieces: a row, or max_beats of an overlong one.
        beats_in_piece = Signal(range(max(max_beats, 2)))   # no zero-width signal
        overlong = Signal()
        piece_end = Signal()
        cut = Signal()
        accept = Signal()
        beat = self.i.payload.beat
        m.d.comb += [
            piece_end.eq(beat.last | (beats_in_piece == max_beats - 1)),
            cut.eq(piece_end & ~beat.last),
            self.i.ready.eq(logits.w_rdy),
            accept.eq(self.i.valid & self.i.ready),
        ]
        with m.If(accept):
            m.d.sync += [beats_in_piece.eq(Mux(piece_end, 0, beats_in_piece + 1)),
                         overlong.eq(~beat.last & (overlong | cut))]

        stored = Signal(buffered)
        m.d.comb += [
            stored.beat.eq(beat), stored.piece_end.eq(piece_end),
            logits.w_data.eq(stored), logits.w_en.eq(accept),
            row_sum.i.valid.eq(self.i.valid & logits.w_rdy),
            row_sum.i.payload.beat.eq(stored),
            row_sum.i.payload.overflow.eq(overlong | cut),
            row_sum.i.payload.resume.eq(self.i.payload.resume),
            row_sum.i.payload.start_max.eq(self.i.payload.start_max),
            row_sum.i.payload.start_sum.eq(self.i.payload.start_sum),
        ]
        wiring.connect(m, row_sum.o, divider.i)

        m.d.comb += [
            rows.w_data.eq(divider.o.payload), rows.w_en.eq(divider.o.valid),
            normalize.rows.payload.eq(rows_head.r_data),
            normalize.rows.valid.eq(rows_head.r_rdy), rows_head.r_en.eq(normalize.rows.ready),
            normalize.beats.payload.eq(logits_head.r_data),
            normalize.beats.valid.eq(logits_head.r_rdy),
            logits_head.r_en.eq(normalize.beats.ready),
        ]
        wiring.connect(m, normalize.o, wiring.flipped(self.o))
        return m


def _queue(m, name, width, depth):
    """A FIFO of `depth` entries (block RAM on ECP5) with a FIFO of ROW_QUEUE_HEAD (3)
    entries of flip-flops behind it, so that the RAM's slow output (6 ns) ends in a
    register and not in loop 2's arithmetic (two entries would halve the throughput).
    Returns both: write into the first, read from the second."""
    m.submodules[name] = bulk = SyncFIFOBuffered(width=width, depth=depth)
    m.submodules[f"{name}_head"] = head = SyncFIFOBuffered(width=width, depth=ROW_QUEUE_HEAD)
    m.d.comb += [head.w_data.eq(bulk.r_data), head.w_en.eq(bulk.r_rdy),
                 bulk.r_en.eq(head.w_rdy)]
    return bulk, head
