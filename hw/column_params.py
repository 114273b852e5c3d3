"""The place and PPU parameters of every column the MAC array gives, in its order."""

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import ReadPort
from amaranth.lib.wiring import In, Out

from hw.operand_feeder import DIM_BITS
from hw.ppu_scale import SHIFT_BITS

__all__ = ["ColumnParams", "column_job_layout", "column_place_layout", "param_entry_layout"]


def param_entry_layout(config):
    """A PARAMS entry: the multiplier, shift and bias of one output column (or row)."""
    return data.StructLayout({"mult": unsigned(config.ppu_mult_bits),
                              "shift": unsigned(SHIFT_BITS), "bias": signed(config.ppu_bits)})


def column_job_layout(addr_bits):
    """A matmul's m x n result with its parameters from PARAMS[params_base ..]."""
    return data.StructLayout({"params_base": addr_bits, "m": DIM_BITS, "n": DIM_BITS})


def column_place_layout():
    """Where a column stands: `keep` (a column of the result, not the array's padding),
    `vector_end` (the V-th kept column of a row's vector, or the row's last), `last`
    (the matmul's last column)."""
    return data.StructLayout({"keep": 1, "vector_end": 1, "last": 1})


class ColumnParams(wiring.Component):
    """For each column of the array's output, in the order of `golden.array_schedule`
    (tiles of L rows by L columns, row of tiles by row of tiles, a tile's columns in
    order), its place and PARAMS[params_base + column], read one per
    cycle ahead of the array so that they meet its columns at the PPU.

    Members
    -------
    job : In(stream.Signature(column_job_layout(addr_bits)))
    read : In(ReadPort.Signature(addr_width=addr_bits, shape=param_entry_layout(config)))
    o : Out(stream.Signature({"params": param_entry_layout(config), "place": column_place_layout()}))
    busy : Out(1)
    """

    def __init__(self, config, addr_bits):
        self._config, self._addr_bits = config, addr_bits
        super().__init__({
            "job": In(stream.Signature(column_job_layout(addr_bits))),
            "read": In(ReadPort.Signature(addr_width=addr_bits,
                                          shape=param_entry_layout(config))),
            "o": Out(stream.Signature(data.StructLayout({
                "params": param_entry_layout(config), "place": column_place_layout()}))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        lanes, size = self._config.lanes, self._config.vector_size
        job = Signal(column_job_layout(self._addr_bits))
        active = Signal()
        row_first = Signal(DIM_BITS + 1)
        column = Signal(DIM_BITS + 1)
        lane = Signal(range(max(lanes, 2)))       # a bit even for one lane
        position = Signal(range(size))            # kept columns since the vector began

        keep = column < job.n
        row_end = column == job.n - 1
        last_lane = lane == lanes - 1
        last_tile = column + 1 >= job.n
        last_row_tile = row_first + lanes >= job.m
        advance = ~self.o.valid | self.o.ready
        place = Signal(column_place_layout())
        m.d.comb += [
            self.read.addr.eq(job.params_base + column),
            self.read.en.eq(advance),
            self.job.ready.eq(~active),
            self.busy.eq(active | self.o.valid),
            self.o.payload.params.eq(self.read.data),
            self.o.payload.place.eq(place),
        ]
        with m.If(self.job.valid & ~active):
            m.d.sync += [job.eq(self.job.payload), active.eq(1), row_first.eq(0),
                         column.eq(0), lane.eq(0), position.eq(0)]
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(active), place.keep.eq(keep),
                         place.vector_end.eq(keep & (row_end | (position == size - 1))),
                         place.last.eq(last_lane & last_tile & last_row_tile)]
        with m.If(advance & active):
            m.d.sync += [lane.eq(Mux(last_lane, 0, lane + 1)), column.eq(column + 1)]
            with m.If(keep):
                m.d.sync += position.eq(position + 1)
            with m.If(last_lane & last_tile):
                m.d.sync += [lane.eq(0), column.eq(0), position.eq(0),
                             row_first.eq(row_first + lanes)]
                with m.If(last_row_tile):
                    m.d.sync += active.eq(0)
        return m
