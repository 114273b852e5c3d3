"""Columns of y to rows of V-element entries of the output buffer."""

from amaranth import Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.layouts import layout
from vsq_accel.hw.ppu.column_params import column_place_layout
from vsq_accel.spec import ports

__all__ = ["RowGather"]


class RowGather(wiring.Component):
    """Gathers V kept columns of y, one element of each of L rows per column, into one
    OUTPUT entry per row; the positions past a row's last column are 0, as the golden
    interpreter pads them. The group leaves from a register of its own, so the next
    vector gathers while the writer empties it.

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
        gathered = Signal(self.o.payload.shape())
        position = Signal(range(size))
        column = self.i.payload
        take = Signal()
        # A column that closes the vector needs the output register free.
        m.d.comb += [
            self.i.ready.eq(~column.place.vector_end | ~self.o.valid | self.o.ready),
            take.eq(self.i.valid & self.i.ready & column.place.keep),
        ]
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(take & column.place.vector_end):
            m.d.sync += [self.o.valid.eq(1), position.eq(0), self.o.payload.eq(gathered),
                         gathered.eq(0)]      # the next vector starts from zeros
            m.d.sync += [self.o.payload[lane][position].eq(value)
                         for lane, value in enumerate(column.y)]
        with m.Elif(take):
            m.d.sync += [gathered[lane][position].eq(value)
                         for lane, value in enumerate(column.y)]
            m.d.sync += position.eq(position + 1)
        return m
