"""The corner turn between the array and the softmax: S's columns in, its rows out.

The array gives one logit of each of L query rows per cycle (a column of S); the
softmax unit takes a row in beats of P logits. The turn writes a block of L rows
column by column into L memories, one per row, each word a beat of P logits written an
element at a time, and reads it back row by row, a beat per cycle. Two halves: the
array writes the next block while the softmax reads this one. With P = L the two sides
run at the same rate, L columns of n keys in n cycles and L x n / P beats out.
"""

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.arith import table_lookup
from vsq_accel.hw.lib.credit_queue import CreditQueue
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.lib.pipeline import stage
from vsq_accel.spec import ports

__all__ = ["CornerTurn"]


class CornerTurn(wiring.Component):
    """Blocks of up to L rows of up to softmax_max_row keys: columns in, beats out, each
    row's last beat marked `last` and its keys past the row's end masked.

    Members
    -------
    i : In(stream.Signature(ports.score_column(config)))
    o : Out(stream.Signature(ports.softmax_beat(config)))
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "i": In(stream.Signature(layout(ports.score_column(config)))),
            "o": Out(stream.Signature(layout(ports.softmax_beat(config)))),
        })

    def elaborate(self, platform):
        config = self._config
        m = Module()
        lanes, width = config.lanes, config.softmax_lanes
        beats = config.softmax_max_beats
        beat_bits = (beats - 1).bit_length()
        column = self.i.payload
        logit_shape = signed(config.softmax_logit_bits)

        # A half is addressed by the top bit, a beat by the bits below: each half holds a
        # power of two of beats (as many as the longest row when that is one).
        writes, reads = [], []
        for row in range(lanes):
            bank = Memory(shape=data.ArrayLayout(logit_shape, width), depth=2 << beat_bits,
                          init=[])
            m.submodules[f"row{row}"] = bank
            writes.append(bank.write_port(granularity=1))     # one logit at a time
            reads.append(bank.read_port())

        # Per half: full (a whole block is in), its rows, beats, keys in its last beat,
        # and mode.
        full = [Signal(name=f"full{half}") for half in range(2)]
        rows = [Signal.like(column.rows, name=f"rows{half}") for half in range(2)]
        last_beat = [Signal(range(max(beats, 2)), name=f"last_beat{half}") for half in range(2)]
        last_keys = [Signal(range(max(width, 2)), name=f"last_keys{half}") for half in range(2)]
        mode = [Signal(name=f"exponentials{half}") for half in range(2)]

        # -- Write: a column's logits, each into its row's bank, element by element -----
        fill = Signal()
        beat = Signal(range(max(beats, 2)))
        element = Signal(range(max(width, 2)))      # no zero-width signal at P = 1
        take = Signal()
        m.d.comb += [self.i.ready.eq(~Mux(fill, full[1], full[0])),
                     take.eq(self.i.valid & self.i.ready & column.keep)]
        enables = Signal(width)
        m.d.comb += enables.eq(1 << element)
        for row, write in enumerate(writes):
            m.d.comb += [write.addr.eq((fill << beat_bits) | beat),
                         write.en.eq(Mux(take, enables, 0))]
            m.d.comb += [slot.eq(column.logits[row]) for slot in write.data]
        with m.If(take):
            wraps = element == width - 1
            m.d.sync += [element.eq(Mux(wraps | column.last, 0, element + 1)),
                         beat.eq(Mux(column.last, 0, Mux(wraps, beat + 1, beat)))]
            with m.If(column.last):
                m.d.sync += fill.eq(~fill)
                for half in range(2):
                    with m.If(fill == half):
                        m.d.sync += [full[half].eq(1), rows[half].eq(column.rows),
                                     last_beat[half].eq(beat), last_keys[half].eq(element),
                                     mode[half].eq(column.exponentials)]

        # -- Read: row by row, a beat per cycle, while the output queue has room --------
        # The banks' read, their words into a register (a block RAM's output is late in
        # the cycle: through the row multiplexer it was too long a path), the multiplexer,
        # then the queue, which passes a beat straight out when empty: a beat leaves a
        # cycle after the read, as it would without the register.
        m.submodules.queue = queue = CreditQueue(self.o.payload.shape(), 2, bypass=True)
        drain = Signal()
        row = Signal(range(max(lanes, 2)))
        read_beat = Signal(range(max(beats, 2)))

        def of(values):
            return Mux(drain, values[1], values[0])

        issue = Signal()
        m.d.comb += [issue.eq(of(full) & queue.room), queue.take.eq(issue)]
        for read in reads:
            m.d.comb += [read.addr.eq((drain << beat_bits) | read_beat), read.en.eq(issue)]
        row_end = read_beat == of(last_beat)
        block_end = row_end & (row == of(rows) - 1)
        keep_all = (1 << width) - 1
        keep_last = (1 << (of(last_keys) + 1)) - 1
        with m.If(issue):
            m.d.sync += [read_beat.eq(Mux(row_end, 0, read_beat + 1)),
                         row.eq(Mux(block_end, 0, Mux(row_end, row + 1, row)))]
            with m.If(block_end):
                m.d.sync += drain.eq(~drain)
                for half in range(2):
                    with m.If(drain == half):
                        m.d.sync += full[half].eq(0)
        r0 = stage(m, "r0", valid=issue, row=row, last=row_end,
                   keep=Mux(row_end, keep_last, keep_all)[:width],
                   exponentials=of(mode))
        r1 = stage(m, "r1", valid=r0.valid, row=r0.row, last=r0.last, keep=r0.keep,
                   exponentials=r0.exponentials, banks=[read.data for read in reads])
        result = Signal(self.o.payload.shape())
        padding = [r1.banks[0]] * ((1 << len(r1.row)) - lanes)   # a whole multiplexer tree
        logits = reads[0].data.shape()(table_lookup(r1.banks + padding, r1.row))
        # Keys past the row's end read whatever the bank held: they go out as 0.
        m.d.comb += [slot.eq(Mux(keep, logit, 0))
                     for slot, logit, keep in zip(result.logits, logits, r1.keep)]
        m.d.comb += [result.keep.eq(r1.keep), result.last.eq(r1.last),
                     result.exponentials.eq(r1.exponentials),
                     queue.i.payload.eq(result), queue.i.valid.eq(r1.valid)]
        wiring.connect(m, queue.o, wiring.flipped(self.o))
        return m

