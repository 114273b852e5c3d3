"""Writes a matmul's result groups, one entry per cycle, into rows of a buffer."""

from amaranth import Array, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import WritePort
from amaranth.lib.wiring import In, Out

from vsq_accel.spec.commands import DIM_BITS

__all__ = ["RowWriter", "writer_job_layout"]


def writer_job_layout(addr_bits):
    """m result rows of `vectors` entries, row r's entry v at base + r * stride + v;
    `dest` says which buffer (the engine's choice between the operand buffers)."""
    return data.StructLayout({"dest": 1, "base": addr_bits, "stride": addr_bits,
                              "m": DIM_BITS, "vectors": DIM_BITS})


class RowWriter(wiring.Component):
    """Takes groups of L entries (one per row of a tile, at one vector position) in the
    order the PPU makes them, row of tiles by row of tiles and vector by vector, and
    writes each into its row, lane by lane; the rows past m (the array's padding) are
    not written. `done` pulses as the job's last entry is written: the command retires.

    Members
    -------
    job : In(stream.Signature(writer_job_layout(addr_bits)))
    i : In(stream.Signature(ArrayLayout(entry, L)))
    write : In(WritePort.Signature(addr_width=addr_bits, shape=entry))
        The buffer's write port, driven by the writer.
    dest : Out(1)
    done : Out(1)
    busy : Out(1)
    """

    def __init__(self, config, addr_bits, entry):
        self._config, self._addr_bits = config, addr_bits
        super().__init__({
            "job": In(stream.Signature(writer_job_layout(addr_bits))),
            "i": In(stream.Signature(data.ArrayLayout(entry, config.lanes))),
            "write": In(WritePort.Signature(addr_width=addr_bits, shape=entry)),
            "dest": Out(1),
            "done": Out(1),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        lanes = self._config.lanes
        job = Signal(writer_job_layout(self._addr_bits))
        active = Signal()
        lane = Signal(range(max(lanes, 2)))       # a bit even for one lane
        vector = Signal(DIM_BITS)
        row = Signal(DIM_BITS + 1)
        row_first = Signal(DIM_BITS + 1)
        tile_addr = Signal(self._addr_bits + DIM_BITS + 1)     # row row_first, vector 0
        addr = Signal.like(tile_addr)                           # row `row`, this vector

        # Where the next entry goes is registered with it, so that `i.ready` and the
        # write's enable, which the buffers' port arbitration and the gather's take
        # follow, start from flip-flops.
        last_lane = Signal()        # lane == L - 1
        inside = Signal()           # row < m: the entry is written
        last_vector = vector == job.vectors - 1
        last_row_tile = row_first + lanes >= job.m
        writing = Signal()
        m.d.comb += [
            writing.eq(active & self.i.valid),
            self.write.addr.eq(addr),
            self.write.data.eq(Array(self.i.payload)[lane]),     # a mux, not a shift
            self.write.en.eq(writing & inside),
            self.dest.eq(job.dest),
            self.i.ready.eq(active & last_lane),
            self.job.ready.eq(~active),
            self.busy.eq(active),
            self.done.eq(writing & last_lane & last_vector & last_row_tile),
        ]
        next_lane, next_row, rows = Signal.like(lane), Signal.like(row), Signal.like(job.m)
        m.d.comb += [next_lane.eq(lane), next_row.eq(row), rows.eq(job.m)]
        with m.If(self.job.valid & ~active):
            payload = self.job.payload
            m.d.comb += [next_lane.eq(0), next_row.eq(0), rows.eq(payload.m)]
            m.d.sync += [job.eq(payload), active.eq(1), vector.eq(0), row_first.eq(0),
                         tile_addr.eq(payload.base), addr.eq(payload.base)]
        with m.If(writing):
            m.d.comb += [next_lane.eq(lane + 1), next_row.eq(row + 1)]
            m.d.sync += addr.eq(addr + job.stride)
            with m.If(last_lane):
                m.d.comb += [next_lane.eq(0), next_row.eq(row_first)]
                m.d.sync += [vector.eq(vector + 1), addr.eq(tile_addr + vector + 1)]
                with m.If(last_vector):
                    next_tile = tile_addr + job.stride * lanes
                    m.d.comb += next_row.eq(row_first + lanes)
                    m.d.sync += [vector.eq(0), row_first.eq(row_first + lanes),
                                 tile_addr.eq(next_tile), addr.eq(next_tile)]
                    with m.If(last_row_tile):
                        m.d.sync += active.eq(0)
        m.d.sync += [lane.eq(next_lane), row.eq(next_row),
                     last_lane.eq(next_lane == lanes - 1), inside.eq(next_row < rows)]
        return m
