"""A feeder: reads an operand buffer in the MAC array's schedule, one vector per cycle."""

from amaranth import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import ReadPort
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.arith import equals, rhu_variable
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.spec import ports
from vsq_accel.spec.commands import DIM_BITS, SHIFT_BITS
from vsq_accel.spec.ports import OperandPart

__all__ = ["OperandFeeder", "feeder_job_layout"]


# A job's format fields and the B vector's fields they set.
_FORMAT_FIELDS = {"wide": "part", "scaled": "scaled"}


def feeder_job_layout(config, addr_bits, role):
    """One matmul's operand: row r's vector s at base + r * stride + s for r < rows,
    s < k; `other_rows` are the rows of the other operand, whose tiles repeat this
    one's. B with `accumulate`: column r's accumulators start from ACC[acc_base + r].
    On a multi-format array: `wide`, the vectors are INT8 in nibble passes (vector s at
    entries 2s and 2s + 1), and `scaled`, their vector scales apply."""
    fields = {"base": addr_bits, "stride": addr_bits, "rows": DIM_BITS,
              "other_rows": DIM_BITS, "k": DIM_BITS, "accumulate": 1, "acc_base": addr_bits}
    operand = ports.a_vector(config) if role == "a" else ports.b_vector(config)
    fields.update({name: 1 for name, field in _FORMAT_FIELDS.items()
                   if field in operand.fields})
    return data.StructLayout(fields)


class OperandFeeder(wiring.Component):
    """Streams a matmul's A (``role="a"``) or B (``role="b"``) vectors in the order of
    `golden.array_schedule`: tiles of L rows, row of tiles by row of tiles; in each tile
    and reduction slice s, the L rows' vector s (a row past `rows` is a zero vector, the
    array's padding). A visits its own tiles in the outer loop and repeats each for the
    other operand's tiles; B repeats its whole set for each of A's tiles, and marks the
    vectors of the last slice `last`.

    The address steps by additions only (no multiplier on the read path); the buffer's
    read port is driven directly, its data registered with the vector's place. B's
    vectors of a first slice carry their column's starting accumulators (`init`): 0, or
    with `accumulate` the column's ACC entry, each lane's divided by 2^rise, its row's
    rise of max (`rises`), rounded half up.

    A `wide` job reads each vector as two entries, its high nibbles and then its low
    ones, and marks them so (`ports.OperandPart`).

    Members
    -------
    job : In(stream.Signature(feeder_job_layout(config, addr_bits, role)))
    read : In(ReadPort.Signature(addr_width=addr_bits, shape=ports.vsq_vector(config)))
        The buffer's read port, driven by the feeder.
    acc : In(ReadPort.Signature(addr_width=addr_bits, shape=ports.output_column(config)))
        B: ACC's read port, driven by the feeder.
    rises : In(ArrayLayout(unsigned(SHIFT_BITS), lanes))
        B: each lane's rise of max, for the whole job.
    o : Out(stream.Signature(ports.a_vector(config) or ports.b_vector(config)))
    busy : Out(1)
        A job is in progress (vectors to read or one to hand over).
    """

    def __init__(self, config, addr_bits, role):
        if role not in ("a", "b"):
            raise ValueError(f"role must be 'a' or 'b', not {role!r}")
        self._config, self._addr_bits, self._role = config, addr_bits, role
        vector = layout(ports.vsq_vector(config))
        members = {
            "job": In(stream.Signature(feeder_job_layout(config, addr_bits, role))),
            "read": In(ReadPort.Signature(addr_width=addr_bits, shape=vector)),
            "o": Out(stream.Signature(layout(ports.a_vector(config) if role == "a"
                                             else ports.b_vector(config)))),
            "busy": Out(1),
        }
        if role == "b":
            members["acc"] = In(ReadPort.Signature(addr_width=addr_bits,
                                                   shape=layout(ports.output_column(config))))
            members["rises"] = In(data.ArrayLayout(unsigned(SHIFT_BITS), config.lanes))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        lanes = self._config.lanes
        job = Signal(feeder_job_layout(self._config, self._addr_bits, self._role))
        active = Signal()
        lane = Signal(range(max(lanes, 2)))       # a bit even for one lane
        slice_ = Signal(DIM_BITS)
        own_first = Signal(DIM_BITS + 1)      # first row of this operand's tile
        other_first = Signal(DIM_BITS + 1)    # first row of the other operand's tile
        row = Signal(DIM_BITS + 1)
        tile_addr = Signal(self._addr_bits + DIM_BITS + 1)    # row own_first, vector 0
        row_addr = Signal.like(tile_addr)                      # row `row`, vector 0

        last_lane = lane == lanes - 1
        last_slice = slice_ == job.k - 1
        last_own = own_first + lanes >= job.rows
        last_other = other_first + lanes >= job.other_rows
        tile_step = job.stride * lanes

        advance = ~self.o.valid | self.o.ready
        pad = Signal()
        last = Signal()
        first = Signal()
        # With a wide job, the low nibbles' entry of the vector is next; a vector steps
        # on after it.
        low_next = Signal()
        passes = hasattr(job, "wide")
        vector_done = (~job.wide | low_next) if passes else 1
        m.d.comb += [
            self.read.addr.eq(row_addr + (Mux(job.wide, Cat(low_next, slice_), slice_)
                                          if passes else slice_)),
            self.read.en.eq(advance),
            self.job.ready.eq(~active),
            self.busy.eq(active | self.o.valid),
        ]
        with m.If(self.job.valid & ~active):
            m.d.sync += [job.eq(self.job.payload), active.eq(1), lane.eq(0), slice_.eq(0),
                         low_next.eq(0),
                         own_first.eq(0), other_first.eq(0), row.eq(0),
                         tile_addr.eq(self.job.payload.base),
                         row_addr.eq(self.job.payload.base)]
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(active), pad.eq(row >= job.rows),
                         last.eq(last_slice), first.eq(equals(slice_, 0))]
        part = Signal(2)
        if passes:
            with m.If(advance):
                m.d.sync += part.eq(Mux(job.wide, Mux(low_next, OperandPart.LOW,
                                                      OperandPart.HIGH), OperandPart.WHOLE))
            with m.If(advance & active & job.wide):
                m.d.sync += low_next.eq(~low_next)
        with m.If(advance & active & vector_done):
            m.d.sync += [lane.eq(lane + 1), row.eq(row + 1), row_addr.eq(row_addr + job.stride)]
            with m.If(last_lane):
                m.d.sync += [lane.eq(0), row.eq(own_first), row_addr.eq(tile_addr),
                             slice_.eq(slice_ + 1)]
                with m.If(last_slice):
                    m.d.sync += slice_.eq(0)
                    self._next_tile(m, job, active, own_first, other_first, row, tile_addr,
                                    row_addr, last_own, last_other, tile_step)

        vector = Signal(layout(ports.vsq_vector(self._config)))
        m.d.comb += vector.eq(self.read.data)
        with m.If(pad):
            m.d.comb += vector.eq(0)
        m.d.comb += self.o.payload.vector.eq(vector)
        if passes:
            m.d.comb += self.o.payload.part.eq(part)
        if self._role == "a":
            return m
        if hasattr(job, "scaled"):
            m.d.comb += self.o.payload.scaled.eq(job.scaled)
        m.d.comb += [self.o.payload.last.eq(last),
                     self.acc.addr.eq(job.acc_base + row), self.acc.en.eq(advance)]
        with m.If(first & job.accumulate & ~pad):
            m.d.comb += [init.eq(rhu_variable(value, rise)) for init, value, rise
                         in zip(self.o.payload.init, self.acc.data, self.rises)]
        return m

    def _next_tile(self, m, job, active, own_first, other_first, row, tile_addr, row_addr,
                   last_own, last_other, tile_step):
        """After a tile's last slice: A steps through the other operand's tiles, then to
        its own next tile; B through its own tiles, then again for A's next."""
        lanes = self._config.lanes

        def next_own():
            m.d.sync += [own_first.eq(own_first + lanes), row.eq(own_first + lanes),
                         tile_addr.eq(tile_addr + tile_step),
                         row_addr.eq(tile_addr + tile_step)]

        def restart_own():
            m.d.sync += [own_first.eq(0), row.eq(0), tile_addr.eq(job.base),
                         row_addr.eq(job.base)]

        inner_last, outer_last = ((last_other, last_own) if self._role == "a"
                                  else (last_own, last_other))
        with m.If(~inner_last):
            if self._role == "a":
                m.d.sync += other_first.eq(other_first + lanes)
            else:
                next_own()
        with m.Elif(~outer_last):
            if self._role == "a":
                m.d.sync += other_first.eq(0)
                next_own()
            else:
                m.d.sync += other_first.eq(other_first + lanes)
                restart_own()
        with m.Else():
            m.d.sync += active.eq(0)
