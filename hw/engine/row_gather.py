"""Columns of y to rows of V-element entries of the output buffer."""

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.ppu.column_params import column_place_layout
from vsq_accel.spec import ports

__all__ = ["RowGather"]


class RowGather(wiring.Component):
    """Gathers V kept columns of y, one element of each of L rows per column, into one
    OUTPUT entry per row; the positions past a row's last column are 0, as the golden
    interpreter pads them. Two banks take turns: one gathers the next vector while the
    writer empties the other, which is the output.

    Each position of a bank has its own enable, and a bank is emptied by clearing a bit
    per position, not its elements: no enable reaches all of the L x V elements, which
    would be a net of about a thousand loads behind the handshake.

    Members
    -------
    i : In(stream.Signature({"y": ArrayLayout(signed(ppu_bits), L), "place": column_place_layout()}))
    o : Out(stream.Signature(ArrayLayout(ports.output_entry(config), L)))
    """

    def __init__(self, config):
        self._config = config
        lanes = config.lanes
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({
                "y": data.ArrayLayout(signed(config.ppu_bits), lanes),
                "place": column_place_layout()}))),
            "o": Out(stream.Signature(data.ArrayLayout(layout(ports.output_entry(config)), lanes))),
        })

    def elaborate(self, platform):
        m = Module()
        size = self._config.vector_size
        banks = [Signal(self.o.payload.shape(), name=f"bank{index}") for index in range(2)]
        written = [Signal(size, name=f"written{index}") for index in range(2)]
        filling = Signal()              # the bank that gathers; the other is the output
        at = Signal(size, init=1)       # the column's position in its vector, one-hot
        column = self.i.payload
        take = Signal()
        closes = Signal()
        # A column that closes the vector needs the output bank free.
        m.d.comb += [
            self.i.ready.eq(~column.place.vector_end | ~self.o.valid | self.o.ready),
            take.eq(self.i.valid & self.i.ready & column.place.keep),
            closes.eq(take & column.place.vector_end),
        ]
        for index, (bank, mask) in enumerate(zip(banks, written)):
            for position in range(size):
                with m.If(take & (filling == index) & at[position]):
                    m.d.sync += [bank[lane][position].eq(value)
                                 for lane, value in enumerate(column.y)]
            with m.If(take & (filling == index)):
                m.d.sync += mask.eq(mask | at)
            with m.If(closes & (filling != index)):
                m.d.sync += mask.eq(0)          # the next vector starts from zeros
        shown = Mux(filling, written[0], written[1])
        for lane in range(self._config.lanes):
            m.d.comb += [self.o.payload[lane][position].eq(
                             Mux(shown[position], Mux(filling, banks[0][lane][position],
                                                       banks[1][lane][position]), 0))
                         for position in range(size)]
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(closes):
            m.d.sync += [self.o.valid.eq(1), filling.eq(~filling), at.eq(1)]
        with m.Elif(take):
            m.d.sync += at.eq(at.rotate_left(1))
        return m
