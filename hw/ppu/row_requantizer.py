"""The requantizer for rows that arrive in row order, P values per beat: the softmax's
exponentials, into the left operand of P V with vectors along the keys, as the golden
`golden.ppu.requantize_rows` computes them."""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.arith import larger, tree_sum
from vsq_accel.hw.lib.credit_queue import CreditQueue
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.lib.pipeline import pipelined_trees, stage
from vsq_accel.hw.ppu.requant_stages import element_stages, scale_stages
from vsq_accel.spec import ports
from vsq_accel.spec.timing import ROW_MAX_LEVELS_PER_STAGE, check_stages, row_requantizer_stages

__all__ = ["RowRequantizer"]


class RowRequantizer(wiring.Component):
    """Packs each row's values into vectors of V and requantizes them, a vector's scale
    from its own max.

    Pack: beats wait in a three-entry queue, their kept values counted; the kept values
    of a beat are appended to the fewer than V held since the last
    vector (a shift by the count held), and every whole vector, up to Q = ceil(P / V),
    leaves as a group; at the row's end the last, short vector is padded with zeros. The
    next row starts on a fresh vector. When P and V divide each other, only a row's
    last beat is short: a vector leaves at a fixed beat phase or at the row's end, and
    the packer needs no sum of counts (its loop would not close 100 MHz). When they do
    not, a row's last beat can complete Q + 1 vectors: the last leaves one cycle later, and the next
    row's first beat waits for it (one cycle per row at most). Then each group runs
    through stages that never stall: ``g_`` the group -> ``m0_``, ... the max of each
    vector (a tree, a level a stage) -> the scale stages -> the element stages
    (`hw.ppu.requant_stages`) -> a `CreditQueue`; a group is formed only while the queue has
    room for it.

    On a multi-format array the command names the exponentials' format, as the column
    requantizer's (`hw.ppu.requantizer`): without vector scales the reciprocal is 2^R
    and the scale 0; INT8 keeps 8-bit elements, which the writer splits into nibbles.

    Members
    -------
    i : In(stream.Signature(ports.row_beat(config)))
    o : Out(stream.Signature(ports.row_vectors(config)))
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "i": In(stream.Signature(layout(ports.row_beat(config)))),
            "o": Out(stream.Signature(layout(ports.row_vectors(config)))),
        })

    def elaborate(self, platform):
        config = self._config
        m = Module()
        size, lanes = config.vector_size, config.softmax_lanes
        size_bits = (size - 1).bit_length()            # V is a power of two
        slots = ports.vectors_per_group(config)
        width = len(self.i.payload.beat.values[0])
        m.submodules.queue = queue = CreditQueue(self.o.payload.shape())

        # -- Pack ------------------------------------------------------------------------
        # Beats wait in a three-entry queue (two would halve the throughput) with their
        # kept count, counted on the way in: the count starts the packer's longest path.
        entry_layout = data.StructLayout({"payload": layout(ports.row_beat(config)),
                                          "count": range(lanes + 1)})
        m.submodules.inbox = inbox = SyncFIFOBuffered(width=entry_layout.size, depth=3)
        entry = Signal(entry_layout)
        head = entry_layout(inbox.r_data)
        m.d.comb += [entry.payload.eq(self.i.payload),
                     entry.count.eq(tree_sum(list(self.i.payload.beat.keep))),
                     inbox.w_data.eq(entry), inbox.w_en.eq(self.i.valid),
                     self.i.ready.eq(inbox.w_rdy)]
        beat = head.payload.beat

        held = Signal((size - 1) * width)          # fewer than V values, zeros above
        flushing = Signal()                        # the row's last vector is still held
        take = Signal()
        m.d.comb += [take.eq(inbox.r_rdy & queue.room & ~flushing), inbox.r_en.eq(take)]
        # The head beat's vectors, as if it were taken: the registers load only on a
        # step, so the longest path need not wait for the handshake. The kept values
        # shift up by the values held, one power of two at a time (a shift by a
        # product would multiply); above the row's values everything is 0.
        kept = Cat(Mux(keep, value, 0) for keep, value in zip(beat.keep, beat.values))
        combined = Signal((slots + 1) * size * width)
        emit_beat = Signal(range(slots + 1))
        finished_beat = Signal()
        step = take | (flushing & queue.room)
        if size % lanes == 0 or lanes % size == 0:
            # P and V divide each other: only a row's last beat is short, so a vector
            # leaves at a fixed beat phase or at the row's end, whatever the counts.
            beats = max(size // lanes, 1)
            phase = Signal(range(max(beats, 2)))   # beats held (no zero-width signal)
            shifted = kept
            if beats > 1:
                for bit_index, bit in enumerate(phase):
                    shifted = Mux(bit, shifted << ((1 << bit_index) * lanes * width), shifted)
            whole = slots if beats == 1 else Mux(phase == beats - 1, 1, 0)
            short = (head.count + size - 1) >> size_bits
            m.d.comb += [combined.eq(held | shifted),
                         emit_beat.eq(Mux(beat.last, Mux(beats > 1, 1, short), whole)),
                         finished_beat.eq(beat.last)]
            with m.If(take):
                m.d.sync += [held.eq(Mux(beat.last | (emit_beat != 0), 0,
                                         combined[:len(held)])),
                             phase.eq(Mux(beat.last | (emit_beat != 0), 0, phase + 1))]
        else:
            fill = Signal(range(size))                 # values held
            shifted = kept
            for bit_index, bit in enumerate(fill):
                shifted = Mux(bit, shifted << ((1 << bit_index) * width), shifted)
            total = Signal(range(size + lanes))
            m.d.comb += [combined.eq(held | shifted), total.eq(fill + head.count)]
            whole = total >> size_bits
            available = Mux(beat.last & (total[:size_bits] != 0), whole + 1, whole)
            m.d.comb += [emit_beat.eq(Mux(available > slots, slots, available)),
                         finished_beat.eq(beat.last & (emit_beat == available))]
            with m.If(step):
                m.d.sync += flushing.eq(~flushing & beat.last & ~finished_beat)
                for vectors in range(slots + 1):
                    with m.If(emit_beat == vectors):
                        rest = combined[vectors * size * width:][:len(held)]
                        m.d.sync += [held.eq(Mux(flushing, 0, rest)),
                                     fill.eq(Mux(flushing | finished_beat, 0,
                                                 total - vectors * size))]
        # A flush sends the held values alone, as the row's last vector.
        emit = Mux(flushing, 1, emit_beat)
        finished = flushing | finished_beat
        outgoing = Mux(flushing, held, combined[:slots * size * width])

        # What the row's groups carry besides their values, kept for a flush.
        live, saved, row = (Signal(_row_layout(config), name=name)
                            for name in ("live", "saved", "row"))
        m.d.comb += [live[name].eq(beat[name]) for name in _ROW_FIELDS]
        m.d.comb += [live[name].eq(head.payload[name]) for name in _parameter_fields(config)]
        with m.If(take):
            m.d.sync += saved.eq(live)
        m.d.comb += row.eq(Mux(flushing, saved, live))

        # -- Requantize ------------------------------------------------------------------
        carried = {"count": emit, "row_end": finished, "row": row,
                   "values": [outgoing[index * width:][:width] for index in range(slots * size)]}
        group = stage(m, "g", valid=step & (emit != 0), **carried)
        m.d.comb += queue.take.eq(group.valid)
        maxima = pipelined_trees(m, "m", [group.values[slot * size:(slot + 1) * size]
                                          for slot in range(slots)],
                                 larger, ROW_MAX_LEVELS_PER_STAGE, group.valid,
                                 {key: getattr(group, key) for key in carried})
        s3 = scale_stages(m, "s", config, maxima.valid, maxima.results, maxima.row.scale_mult,
                          maxima.row.scale_shift,
                          **{key: getattr(maxima, key) for key in carried})
        formats = ports.operand_format_fields(config)
        reciprocals, scales = None, s3.scale
        if config.vector_scales:
            reciprocals = s3.reciprocal
            if "scaled" in formats:        # without vector scales the reciprocal is 2^R
                one = 1 << config.ppu_recip_bits
                reciprocals = [Mux(s3.row.scaled, value, one) for value in reciprocals]
                scales = [Mux(s3.row.scaled, value, 0) for value in scales]
            reciprocals = [reciprocals[index // size] for index in range(slots * size)]
        e3 = element_stages(m, "e", config, s3.valid, s3.values, s3.row.element_mult,
                            reciprocals, s3.row.element_shift,
                            wide=s3.row.wide if "wide" in formats else None, count=s3.count,
                            row_end=s3.row_end, row=s3.row, scale=scales)
        stages = 1 + maxima.depth + s3.depth + e3.depth      # g_, then the trees and stages
        check_stages("RowRequantizer", stages, row_requantizer_stages(config))
        # The decision to form a group ends a long path: the queue hears of it from
        # the group's register, a cycle late.
        queue.size_for(stages, lag=1)

        result = Signal(self.o.payload.shape())
        for slot, vector in enumerate(result.vectors):
            m.d.comb += [element.eq(x) for element, x
                         in zip(vector.data, e3.x[slot * size:(slot + 1) * size])]
            if config.vector_scales:
                m.d.comb += vector.scale.eq(e3.scale[slot])
        m.d.comb += [result[name].eq(e3.row[name]) for name in _ROW_FIELDS]
        m.d.comb += [result.count.eq(e3.count), result.row_end.eq(e3.row_end),
                     queue.i.payload.eq(result), queue.i.valid.eq(e3.valid)]
        wiring.connect(m, queue.o, wiring.flipped(self.o))
        return m


# What a row's groups carry from the softmax besides their values.
_ROW_FIELDS = ("reciprocal", "row_max", "row_sum", "rise", "error")


def _parameter_fields(config):
    """The requantization's parameters and format, as the controller attaches them."""
    return {**ports.requant_parameter_fields(config), **ports.operand_format_fields(config)}


def _row_layout(config):
    """What a row's groups carry besides their values: the row's reciprocal, state and
    error, and the requantization's parameters and format."""
    fields = ports.row_vectors(config).fields
    return layout(ports.Struct({**{name: fields[name] for name in _ROW_FIELDS},
                                **_parameter_fields(config)}))
