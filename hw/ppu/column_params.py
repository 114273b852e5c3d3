"""The place and PPU parameters of every column the MAC array gives, in its order."""

from amaranth import Array, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import ReadPort
from amaranth.lib.wiring import In, Out

from vsq_accel.hw.lib.arith import equals
from vsq_accel.hw.lib.layouts import layout
from vsq_accel.spec import ports
from vsq_accel.spec.commands import DIM_BITS

__all__ = ["ColumnParams", "column_job_layout", "column_place_layout", "lane_params_layout"]


def column_job_layout(addr_bits):
    """A matmul's m x n result: parameters from PARAMS[params_base ..], per column or
    (`per_row`) per row of the result; with `row_scale`, row i scaled by the softmax
    reciprocal in STATE[state_base + i]."""
    return data.StructLayout({"params_base": addr_bits, "state_base": addr_bits,
                              "m": DIM_BITS, "n": DIM_BITS, "per_row": 1, "row_scale": 1})


def column_place_layout():
    """Where a column stands: `keep` (a column of the result, not the array's padding),
    `vector_end` (the V-th kept column of a row's vector, or the row's last),
    `row_end` (the rows' last column), `last` (the matmul's last column)."""
    return data.StructLayout({"keep": 1, "vector_end": 1, "row_end": 1, "last": 1})


def lane_params_layout(config):
    """What the PPU takes beside a column's accumulators: each lane's parameters and
    reciprocal, and the column's place."""
    lanes = config.lanes
    entry = layout(ports.param_entry(config))
    return data.StructLayout({
        "mult": data.ArrayLayout(entry["mult"].shape, lanes),
        "shift": data.ArrayLayout(entry["shift"].shape, lanes),
        "bias": data.ArrayLayout(entry["bias"].shape, lanes),
        "reciprocal": data.ArrayLayout(unsigned(config.softmax_recip_bits), lanes),
        "place": column_place_layout(),
    })


class ColumnParams(wiring.Component):
    """For each column of the array's output, in the order of `golden.array_schedule`
    (tiles of L rows by L columns, row of tiles by row of tiles, a tile's columns in
    order), its place and its lanes' parameters, ready before the array gives it.

    Per column: PARAMS[params_base + column] is read as the column is offered, the same
    for every lane. Per row (a result produced transposed) and for the rows' softmax
    reciprocals, each lane needs its own row's entry: a loader reads the L entries of a
    row of tiles into one of two banks of lane registers, one entry a cycle, while the
    columns of the previous row of tiles use the other, so the columns never wait for
    them once the first bank is full.

    Members
    -------
    job : In(stream.Signature(column_job_layout(addr_bits)))
    params : In(ReadPort.Signature(addr_width=addr_bits, shape=ports.param_entry(config)))
    state : In(ReadPort.Signature(addr_width=addr_bits, shape=ports.state_entry(config)))
        The read ports of PARAMS and of STATE (for the rows' reciprocals).
    o : Out(stream.Signature(lane_params_layout(config)))
    busy : Out(1)
    """

    def __init__(self, config, addr_bits):
        self._config, self._addr_bits = config, addr_bits
        super().__init__({
            "job": In(stream.Signature(column_job_layout(addr_bits))),
            "params": In(ReadPort.Signature(addr_width=addr_bits,
                                            shape=layout(ports.param_entry(config)))),
            "state": In(ReadPort.Signature(addr_width=addr_bits,
                                           shape=layout(ports.state_entry(config)))),
            "o": Out(stream.Signature(lane_params_layout(config))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        config = self._config
        lanes, size = config.lanes, config.vector_size
        job = Signal(column_job_layout(self._addr_bits))
        active = Signal()
        per_lane = per_lane_of(job)
        entry = layout(ports.param_entry(config))
        banks = [[Signal(entry, name=f"bank{bank}_params{lane}") for lane in range(lanes)]
                 for bank in range(2)]
        reciprocals = [[Signal(config.softmax_recip_bits, name=f"bank{bank}_recip{lane}")
                        for lane in range(lanes)] for bank in range(2)]
        ready = Signal(2)                        # a bank holds the lanes' entries
        release = Signal(2)

        with m.If(self.job.valid & ~active):
            m.d.sync += [job.eq(self.job.payload), active.eq(1)]
        self._loader(m, job, self.job.valid & ~active, per_lane, banks, reciprocals, ready,
                     release)

        # -- Columns ---------------------------------------------------------------
        row_first = Signal(DIM_BITS + 1)
        column = Signal(DIM_BITS + 1)
        lane = Signal(range(max(lanes, 2)))        # a bit even for one lane
        position = Signal(range(size))            # kept columns since the vector began
        bank = Signal()                           # of this row of tiles
        keep = column < job.n
        row_end = column == job.n - 1
        last_lane = lane == lanes - 1
        last_tile = column + 1 >= job.n
        last_row_tile = row_first + lanes >= job.m
        can_emit = active & (~per_lane | Mux(bank, ready[1], ready[0]))
        advance = ~self.o.valid | self.o.ready
        place = Signal(column_place_layout())
        out_bank, tile_end = Signal(), Signal()
        with m.If(~job.per_row):            # the loader uses the port per row
            m.d.comb += [self.params.addr.eq(job.params_base + column),
                         self.params.en.eq(advance)]
        with m.If(self.job.valid & ~active):
            m.d.sync += [row_first.eq(0), column.eq(0), lane.eq(0), position.eq(0),
                         bank.eq(0)]
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(can_emit), place.keep.eq(keep),
                         place.vector_end.eq(keep & (row_end | (position == size - 1))),
                         place.row_end.eq(keep & row_end),
                         place.last.eq(last_lane & last_tile & last_row_tile),
                         out_bank.eq(bank), tile_end.eq(last_lane & last_tile)]
        with m.If(advance & can_emit):
            m.d.sync += [lane.eq(Mux(last_lane, 0, lane + 1)), column.eq(column + 1)]
            with m.If(keep):
                m.d.sync += position.eq(position + 1)
            with m.If(last_lane & last_tile):
                m.d.sync += [lane.eq(0), column.eq(0), position.eq(0), bank.eq(~bank),
                             row_first.eq(row_first + lanes)]
                with m.If(last_row_tile):
                    m.d.sync += active.eq(0)
        with m.If(self.o.valid & self.o.ready & tile_end & per_lane):
            m.d.comb += release.eq(Mux(out_bank, 0b10, 0b01))

        out = self.o.payload
        m.d.comb += [out.place.eq(place), self.busy.eq(active | self.o.valid),
                     self.job.ready.eq(~active)]
        for index in range(lanes):
            held = Array(banks)[out_bank][index]
            params = Mux(job.per_row, held.as_value(), self.params.data.as_value())
            params = data.View(entry, params)
            m.d.comb += [out.mult[index].eq(params.mult), out.shift[index].eq(params.shift),
                         out.bias[index].eq(params.bias),
                         out.reciprocal[index].eq(Mux(job.row_scale,
                                                      Array(reciprocals)[out_bank][index], 1))]
        return m

    def _loader(self, m, job, starting, per_lane, banks, reciprocals, ready, release):
        """Fills the banks, a row of tiles each, in order, from PARAMS (per row) and the
        reciprocals."""
        lanes = self._config.lanes
        loading = Signal()
        load_row = Signal(DIM_BITS + 1)           # first row of the row of tiles
        load_lane = Signal(range(max(lanes, 2)))
        load_bank = Signal()
        issue = Signal()
        m.d.comb += issue.eq(loading & ~Mux(load_bank, ready[1], ready[0]))
        with m.If(job.per_row):
            m.d.comb += [self.params.addr.eq(job.params_base + load_row + load_lane),
                         self.params.en.eq(issue)]
        m.d.comb += [self.state.addr.eq(job.state_base + load_row + load_lane),
                     self.state.en.eq(issue)]
        with m.If(starting):
            m.d.sync += [loading.eq(per_lane_of(self.job.payload)), load_row.eq(0),
                         load_lane.eq(0), load_bank.eq(0)]
        last_lane = load_lane == lanes - 1
        with m.If(issue):
            m.d.sync += load_lane.eq(Mux(last_lane, 0, load_lane + 1))
            with m.If(last_lane):
                m.d.sync += [load_row.eq(load_row + lanes), load_bank.eq(~load_bank)]
                with m.If(load_row + lanes >= job.m):
                    m.d.sync += loading.eq(0)
        # The entries arrive a cycle after their reads.
        arrived, lane_q, bank_q, full_q = Signal(), Signal.like(load_lane), Signal(), Signal()
        m.d.sync += [arrived.eq(issue), lane_q.eq(load_lane), bank_q.eq(load_bank),
                     full_q.eq(issue & last_lane)]
        for bank in range(2):
            for lane in range(lanes):
                with m.If(arrived & (bank_q == bank) & equals(lane_q, lane)):
                    m.d.sync += [banks[bank][lane].eq(self.params.data),
                                 reciprocals[bank][lane].eq(self.state.data.reciprocal)]
        set_ready = Mux(full_q, Mux(bank_q, 0b10, 0b01), 0)
        m.d.sync += ready.eq((ready | set_ready) & ~release)
        with m.If(starting):
            m.d.sync += ready.eq(0)


def per_lane_of(job):
    """A job whose lanes need entries of their own."""
    return job.per_row | job.row_scale
